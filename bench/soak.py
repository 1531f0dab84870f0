#!/usr/bin/env python3
"""Soak run (issue 15): one batch of about 1,000 mixed files through the `unseen` binary, with
faults injected at random stages, then checks what a user relies on.

The batch (made here from the repository's fixtures, deterministically from --seed):
  * good images: crops of the fixture photos at random sizes, as JPEG (with a GPS/EXIF canary),
    PNG, WebP, TIFF and BMP, plus the HEIC, AVIF and GIF fixtures;
  * good videos: short clips rendered by ffmpeg (MP4, MOV, MKV; some with audio);
  * malformed files: every file of testdata/bad (truncated, corrupt, decompression bombs,
    animations, ...), good files cut at random offsets, empty files, random bytes;
  * special files: named pipes, Unix sockets (bound by this script), dangling links and link
    loops;
  * names with spaces, non-Latin scripts and control characters.

`UNSEEN_TEST_FAULT=random:SEED` makes about one input in four fail at a stage chosen from a hash
(detector, encoder, obscuring skipped, metadata trailer, corrupted pixels); this script computes
the same choice, so it knows which good file must fail and which must be written.

Checks (the script exits 1 if any fails):
  * every good file without a fault is written, decodes, and holds no canary byte;
  * every good file with a fault fails (or, where the fault cannot matter, e.g. skipping the
    obscuring of an image without faces, is written and verified), with a detect, encode or
    verify error;
  * every malformed and special file is named in the report with an error, and in one error line;
  * no temp file is left under the output folder, and the inputs are unchanged, byte for byte;
  * the process's peak resident memory stays under --max-rss-mb.

Prints one table row (for BENCHMARKS.md). Needs Pillow, ffmpeg and ffprobe.

    python3 bench/soak.py --unseen target/release/unseen [--files 1000] [--seed 1]
"""

import argparse
import hashlib
import io
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
CANARY = "SOAKCANARY51N"
FAULTS = ["detect", "encode", "skip-obscure", "trailer", "corrupt"]


def fault_for(seed: int, path: str):
    """The fault `Pipeline::fault` picks for this input path (see Fault::Random)."""
    h = hashlib.sha256(seed.to_bytes(8, "little") + os.fsencode(path)).digest()[0]
    i = h % (len(FAULTS) * 4)
    return FAULTS[i] if i < len(FAULTS) else None


def exif_with_canary():
    exif = Image.Exif()
    exif[0x010E] = CANARY  # ImageDescription
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS IFD
    return exif.tobytes()


def make_batch(inp: Path, n: int, rng: random.Random, tmp: Path):
    """Fills `inp`; returns {name: class} with class good-image, good-video, bad or special, and
    the sockets to keep open."""
    kinds = {}
    photos = [Image.open(ROOT / "examples/astronaut.jpg").convert("RGB"),
              Image.open(ROOT / "testdata/astronaut.png").convert("RGB")]
    scripts = ["photo", "фото", "صورة", "照片", "tab\tname", "bell\x07", "esc\x1b[2J"]

    def name(stem_ext):
        stem, ext = stem_ext
        return f"{rng.choice(scripts)} {len(kinds):04d} {stem}.{ext}"

    # malformed fixtures, each once
    for f in sorted((ROOT / "testdata/bad").iterdir()):
        nm = f"bad {len(kinds):04d} {f.name}"
        shutil.copyfile(f, inp / nm)
        kinds[nm] = "bad"
    # good still fixtures in other formats
    for f in ["astronaut.avif", "astronaut_irot90.heic", "rgba.heic", "astronaut_still.gif", "rgba.png",
              "exif_orient_6.jpg", "metadata_canary.jpg", "cmyk.jpg", "gray.jpg", "no_faces.png"]:
        nm = name((Path(f).stem, Path(f).suffix[1:]))
        shutil.copyfile(ROOT / "testdata/good" / f, inp / nm)
        kinds[nm] = "good-image"
    # videos
    specs = [("mp4", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], True),
             ("mov", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], False),
             ("mkv", ["-c:v", "mpeg4"], True)]
    for i in range(9):
        ext, codec, audio = specs[i % len(specs)]
        nm = name((f"clip{i}", ext))
        src = ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=10:duration={1 + i % 3}"]
        if audio:
            src += ["-f", "lavfi", "-i", "sine=frequency=300:sample_rate=16000:duration=2"]
        subprocess.run(["ffmpeg", "-v", "error", "-y", *src, *codec, "-metadata", f"title={CANARY}",
                        "-shortest", str(inp / nm)], check=True)
        kinds[nm] = "good-video"
    # special files
    socks = []
    for i in range(5):
        nm = f"pipe {i}.jpg"
        os.mkfifo(inp / nm)
        kinds[nm] = "special"
    for i in range(3):
        nm = f"s{i}.png"  # short: a socket path has a length limit
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(str(inp / nm))
        socks.append(s)
        kinds[nm] = "special"
    for i in range(3):
        nm = f"dangling {i}.jpg"
        os.symlink(tmp / "nowhere.jpg", inp / nm)
        kinds[nm] = "special"
    os.symlink("loop b.jpg", inp / "loop a.jpg")
    os.symlink("loop a.jpg", inp / "loop b.jpg")
    kinds["loop a.jpg"] = kinds["loop b.jpg"] = "special"

    formats = [("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"), ("tif", "TIFF"), ("bmp", "BMP")]
    while len(kinds) < n:
        r = rng.random()
        photo = rng.choice(photos)
        w = rng.randint(48, 480)
        h = rng.randint(48, 480)
        x = rng.randint(0, max(0, photo.width - w))
        y = rng.randint(0, max(0, photo.height - h))
        img = photo.crop((x, y, x + w, y + h))
        ext, fmt = rng.choice(formats)
        buf = io.BytesIO()
        if fmt == "JPEG":
            img.save(buf, fmt, quality=85, exif=exif_with_canary())
        else:
            img.save(buf, fmt)
        data = buf.getvalue()
        if r < 0.80:
            nm = name(("crop", ext))
            kinds[nm] = "good-image"
        elif r < 0.92:
            nm = name(("cut", ext))
            data = data[: rng.randint(0, len(data) - 1)]
            kinds[nm] = "bad"
        elif r < 0.96:
            nm = name(("empty", ext))
            data = b""
            kinds[nm] = "bad"
        else:
            nm = name(("noise", ext))
            data = rng.randbytes(rng.randint(1, 4096))
            kinds[nm] = "bad"
        (inp / nm).write_bytes(data)
    return kinds, socks


def digest_tree(d: Path):
    out = {}
    for p in sorted(d.iterdir()):
        if p.is_file() and not p.is_symlink() and p.stat().st_mode & 0o170000 == 0o100000:
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--unseen", default=str(ROOT / "target/release/unseen"))
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-rss-mb", type=float, default=1024)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--make-only", metavar="DIR", help="only write the batch into DIR (to reproduce a failure)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    problems = []
    if args.make_only:
        Path(args.make_only).mkdir(parents=True)
        kinds, _ = make_batch(Path(args.make_only), args.files, rng, Path(args.make_only))
        print(f"{len(kinds)} files in {args.make_only}")
        return

    with tempfile.TemporaryDirectory(prefix="unseen-soak-") as t:
        tmp = Path(t)
        inp, out = tmp / "in", tmp / "out"
        inp.mkdir()
        kinds, socks = make_batch(inp, args.files, rng, tmp)
        before = digest_tree(inp)
        report_path = tmp / "report.json"
        env = dict(os.environ, UNSEEN_TEST_FAULT=f"random:{args.seed}")
        cmd = [args.unseen, "-q", "--out", str(out), "--report", str(report_path), str(inp)]
        if args.jobs:
            cmd[1:1] = ["--jobs", str(args.jobs)]
        start = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, timeout=3600)
        wall = time.monotonic() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        for s in socks:
            s.close()

        import json
        try:
            report = json.loads(report_path.read_text())
        except ValueError:
            sys.exit(f"no report (exit {proc.returncode}): {proc.stderr.decode(errors='replace')[-2000:]}")
        by_name = {Path(f["input"]).name: f for f in report["files"]}
        err_lines = [l for l in proc.stderr.decode(errors="replace").splitlines() if l.startswith("error:")]
        if proc.returncode != 1:
            problems.append(f"exit code {proc.returncode}, expected 1 (some files fail)")
        counts = {"good written": 0, "good failed (fault)": 0, "fault without effect": 0, "bad/special refused": 0}
        for nm, kind in sorted(kinds.items()):
            f = by_name.get(nm)
            if f is None:
                # links that lead nowhere are reported under their own names too
                problems.append(f"{nm!r} ({kind}): not in the report")
                continue
            if kind.startswith("good"):
                fault = fault_for(args.seed, f["input"])
                if f["status"] == "ok":
                    o = Path(f["output"])
                    if not o.is_file():
                        problems.append(f"{nm!r}: reported ok, no output")
                        continue
                    data = o.read_bytes()
                    if CANARY.encode() in data:
                        problems.append(f"{nm!r}: canary in the output")
                    if kind == "good-image":
                        try:
                            Image.open(o).load()
                        except Exception as e:  # noqa: BLE001
                            problems.append(f"{nm!r}: output does not decode: {e}")
                    else:
                        pr = subprocess.run(["ffprobe", "-v", "error", str(o)], capture_output=True)
                        if pr.returncode != 0:
                            problems.append(f"{nm!r}: output does not probe")
                    if fault is None:
                        counts["good written"] += 1
                    else:
                        nothing_to_hide = not f["faces"] and not (f.get("video") or {}).get("covered_frames")
                        if fault == "skip-obscure" and nothing_to_hide:
                            counts["fault without effect"] += 1
                        else:
                            problems.append(f"{nm!r}: fault {fault} injected, yet written")
                else:
                    if fault is None:
                        problems.append(f"{nm!r}: good file failed: {f['error']}")
                    elif f.get("error_kind") not in ("detect", "encode", "verify"):
                        problems.append(f"{nm!r}: fault {fault} gave a {f.get('error_kind')} error: {f['error']}")
                    else:
                        counts["good failed (fault)"] += 1
            else:
                if f["status"] != "error" or f.get("output") and Path(f["output"]).exists():
                    problems.append(f"{nm!r} ({kind}): {f['status']}, not refused")
                else:
                    counts["bad/special refused"] += 1
        failed = sum(1 for f in report["files"] if f["status"] == "error")
        if len(err_lines) != failed:
            problems.append(f"{len(err_lines)} error lines for {failed} failed files")
        leftovers = [p for p in out.rglob("*") if p.name.startswith(".unseen-tmp")]
        if leftovers:
            problems.append(f"temp files left: {leftovers[:3]}")
        if digest_tree(inp) != before:
            problems.append("inputs changed")
        if peak_mb > args.max_rss_mb:
            problems.append(f"peak RSS {peak_mb:.0f} MB above {args.max_rss_mb:.0f} MB")

    n_good = sum(1 for k in kinds.values() if k.startswith("good"))
    n_vid = sum(1 for k in kinds.values() if k == "good-video")
    print("| files | good (videos) | bad | special | written | failed by fault | fault without effect "
          "| refused | wall s | peak RSS MB | checks |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {len(kinds)} | {n_good} ({n_vid}) | {sum(1 for k in kinds.values() if k == 'bad')} "
          f"| {sum(1 for k in kinds.values() if k == 'special')} | {counts['good written']} "
          f"| {counts['good failed (fault)']} | {counts['fault without effect']} | {counts['bad/special refused']} "
          f"| {wall:.0f} | {peak_mb:.0f} | {'pass' if not problems else f'{len(problems)} FAILED'} |")
    for p in problems[:40]:
        print("problem:", p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
