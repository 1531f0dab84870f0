#!/usr/bin/env python3
"""Speed benchmark (issue 6): unseen (tract and onnxruntime, each preset) against deface on the
same inputs, on the same machine, in one run. Prints one Markdown table.

    bench/.venv/bin/python bench/speed_bench.py [--quick] [--thorough]

Inputs are generated into bench/out/speed/ (git-ignored), with their ground truth:
  * two 12 s, 30 fps clips, 720p and 1080p, with audio: five heads cut from the public-domain
    testdata/astronaut.png over ffmpeg's moving testsrc2 pattern: a large one walking, a medium
    one bobbing, a small one crossing the frame, a medium one that pops in at 3.1 s (between
    keyframes) and runs across fast, and, after a scene cut at 6 s (background inverted and
    shifted, two heads jump), a small one that pops in at 6.37 s;
  * 24 JPEGs 1920x1080, five heads each (360, 216, 120, 72 and 40 px tall) at varying positions;
  * one 4000x3000 JPEG (12 MP) of a crowd: nine rows of heads, 417 faces 15 to 171 px tall.
Both clips also have a tiny head (1/20 of the frame height) drifting along the bottom.

Every tool runs with black boxes (unseen --mode solid --shape box, deface --replacewith solid,
both with the mask scale 1.3), so that what is covered can be measured exactly; the cost of the
obscuring mode is negligible next to detection in both tools. Each run is timed under
/usr/bin/time (wall seconds, peak RSS of the largest process: unseen, deface or their ffmpeg),
with transparent huge pages off for both tools (see no_huge_pages).

Columns: fps (video) or s/image, speed ratio to deface on the same input (>1: faster), peak RSS,
full detections (unseen, from its report), and **protected**: the share of true face-frames
(faces, for images) whose face box (shrunk by 2 px against codec blur at the edges) is at least
95% black in the output.

Needs: ffmpeg, /usr/bin/time (Debian package `time`), this venv (deface 1.5.0, onnxruntime,
numpy, Pillow: see bench/README.md). The unseen binary is built with `--release --features ort`
(UNSEEN_BIN overrides it); onnxruntime for unseen comes from ORT_DYLIB_PATH, else from this
venv's onnxruntime package. --quick: 4 s clips and 8 images (a smoke test, not for figures).
--thorough: also the thorough preset (every frame in full at ×2 on video; slow).
Photos also get balanced on tract with --no-cascade (what the default cascade saves).
--extras: also balanced on tract with --text and --people head (issue 13: what text and people
detection cost).
"""

import argparse
import ctypes
import glob
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "speed"
FPS = 30
# the head-and-shoulders crop of the astronaut and the face inside it (crop pixels)
CROP = (140, 20, 310, 230)
FACE = (41, 38, 130, 158)


def head(height):
    astro = Image.open(ROOT / "testdata" / "astronaut.png").convert("RGB").crop(CROP)
    width = round(170 * height / 210)
    return np.asarray(astro.resize((width, height), Image.LANCZOS))


def face_box(x, y, height):
    s = height / 210
    return (x + FACE[0] * s, y + FACE[1] * s, x + FACE[2] * s, y + FACE[3] * s)


def paste(frame, patch, x, y):
    x, y = int(round(x)), int(round(y))
    h, w = patch.shape[:2]
    frame[y : y + h, x : x + w] = patch


def overlaps(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy > 0.05 * (a[2] - a[0]) * (a[3] - a[1])


def clip_heads(w, h, dur):
    cut = dur / 2
    return [  # (height, present(t), position(t) of the crop's top-left)
        (h // 3, lambda t: True,
         lambda t: (w * 0.05 + w * 0.03 * t, h * 0.12) if t < cut else (w * 0.6 - w * 0.03 * (t - cut), h * 0.4)),
        (h // 5, lambda t: True, lambda t: (w * 0.62, h * 0.42 + h * 0.1 * math.sin(2 * t))),
        (h // 9, lambda t: True, lambda t: (w * 0.92 - w * 0.84 * t / dur, h * 0.04)),
        (h // 6, lambda t: dur * 0.26 <= t < dur * 0.46,
         lambda t: (w * 0.08 + w * 0.25 * (t - dur * 0.26) * 12 / dur, h * 0.62 + h * 0.05 * (t - dur * 0.26))),
        (h // 8, lambda t: t >= cut + dur * 0.03, lambda t: (w * 0.28, h * 0.72)),
        (h // 20, lambda t: True, lambda t: (w * 0.45 + w * 0.01 * t, h * 0.88)),
    ]


def make_clip(w, h, dur, dst):
    """Writes the clip and its ground truth (per frame: face boxes not hidden by another head)."""
    truth_path = dst.with_suffix(".json")
    if dst.exists() and truth_path.exists():
        return json.loads(truth_path.read_text())
    n = int(dur * FPS)
    heads = [(head(hh), present, pos) for hh, present, pos in clip_heads(w, h, dur)]
    bg = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=s={w}x{h}:r={FPS}:d={dur}",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE)
    enc = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(FPS),
         "-i", "-", "-f", "lavfi", "-i", f"sine=f=330:sample_rate=48000:d={dur}", "-map", "0:v", "-map", "1:a",
         "-c:v", "libx264", "-preset", "fast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(dst)], stdin=subprocess.PIPE)
    truth = []
    for i in range(n):
        raw = bg.stdout.read(w * h * 3)
        frame = np.frombuffer(raw, np.uint8).reshape(h, w, 3).copy()
        t = i / FPS
        if t >= dur / 2:  # scene cut
            frame = 255 - np.roll(frame, w // 3, axis=1)
        placed = []
        for patch, present, pos in heads:
            if present(t):
                x, y = pos(t)
                paste(frame, patch, x, y)
                ph, pw = patch.shape[:2]
                placed.append(((x, y, x + pw, y + ph), face_box(x, y, ph)))
        # a face counts when no head pasted later hides it
        faces = [f for k, (_, f) in enumerate(placed) if not any(overlaps(f, p) for p, _ in placed[k + 1 :])]
        truth.append(faces)
        enc.stdin.write(frame.tobytes())
    enc.stdin.close()
    if enc.wait() != 0 or bg.wait() != 0:
        sys.exit(f"speed_bench: could not make {dst}")
    truth_path.write_text(json.dumps(truth))
    return truth


def backgrounds(w, h, count):
    """`count` frames of ffmpeg's testsrc2 pattern, w x h, raw RGB, one after the other."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=s={w}x{h}:r=1:d={count}",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE, check=True).stdout


def make_images(count, dst):
    """Writes `count` 1920x1080 JPEGs with five heads each; returns {name: [face boxes]}."""
    truth_path = dst / "truth.json"
    if truth_path.exists() and len(list(dst.glob("*.jpg"))) == count:
        return json.loads(truth_path.read_text())
    dst.mkdir(parents=True, exist_ok=True)
    w, h = 1920, 1080
    bg = backgrounds(w, h, count)
    patches = [head(s) for s in (360, 216, 120, 72, 40)]
    truth = {}
    for i in range(count):
        frame = np.frombuffer(bg[i * w * h * 3 : (i + 1) * w * h * 3], np.uint8).reshape(h, w, 3).copy()
        spots = [(40 + i * 37 % 600, 60 + i * 53 % 500), (900 + i * 29 % 500, 80 + i * 41 % 500),
                 (700 + i * 61 % 1000, 820 + i * 17 % 120), (1500 + i * 13 % 300, 500 + i * 23 % 300),
                 (60 + i * 47 % 500, 980 + i * 7 % 40)]
        faces = []
        for patch, (x, y) in zip(patches, spots):
            paste(frame, patch, x, y)
            faces.append(face_box(x, y, patch.shape[0]))
        name = f"img_{i:02d}.jpg"
        Image.fromarray(frame).save(dst / name, quality=92)
        truth[name] = faces
    truth_path.write_text(json.dumps(truth))
    return truth


def protected(img, box):
    """Whether the face box (shrunk by 2 px) is at least 95% black in `img` (H×W×3)."""
    h, w = img.shape[:2]
    x1, y1 = max(0, math.ceil(box[0]) + 2), max(0, math.ceil(box[1]) + 2)
    x2, y2 = min(w, math.floor(box[2]) - 2), min(h, math.floor(box[3]) - 2)
    if x2 <= x1 or y2 <= y1:
        return True
    region = img[y1:y2, x1:x2]
    return (region.max(axis=2) <= 48).mean() >= 0.95


def video_protected(path, truth):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", str(path)],
                           capture_output=True, text=True, check=True).stdout.strip().split(",")
    w, h = int(probe[0]), int(probe[1])
    dec = subprocess.Popen(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                           stdout=subprocess.PIPE)
    ok = total = 0
    for faces in truth:
        raw = dec.stdout.read(w * h * 3)
        if len(raw) < w * h * 3:
            total += len(faces)  # a missing frame protects nothing
            continue
        img = np.frombuffer(raw, np.uint8).reshape(h, w, 3)
        ok += sum(protected(img, f) for f in faces)
        total += len(faces)
    dec.stdout.close()
    dec.wait()
    return ok / max(total, 1), total


def no_huge_pages():
    """Turns transparent huge pages off for this (child) process and what it runs
    (prctl PR_SET_THP_DISABLE, preserved across exec), as the unseen binary does for itself: on a
    machine whose memory is fragmented, huge pages stall a process in compaction, by an amount
    that depends on the machine's state (deface on the crowd: 7.1-12.8 s with them, 7.2 s
    without; BENCHMARKS.md, tenth session). So neither tool's figure depends on it."""
    ctypes.CDLL(None, use_errno=True).prctl(41, 1, 0, 0, 0)


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time, without transparent huge pages; returns (seconds, peak RSS
    MiB)."""
    stats = OUT / "time.txt"
    r = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(stats)] + cmd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=no_huge_pages)
    if r.returncode != 0:
        sys.exit(f"speed_bench: failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    sec, kib = stats.read_text().split()[-2:]
    return float(sec), int(kib) / 1024


def make_crowd(dst):
    """Writes one 4000x3000 JPEG (12 MP), a crowd in rows: nine rows of heads, 26 px tall at the
    back (top) to 300 px at the front, 417 faces (15 to 171 px tall); returns {name: [face boxes]}."""
    truth_path = dst / "truth.json"
    name = "crowd_12mp.jpg"
    if truth_path.exists() and (dst / name).exists():
        return json.loads(truth_path.read_text())
    dst.mkdir(parents=True, exist_ok=True)
    w, h = 4000, 3000
    bg = backgrounds(w, h, 1)
    frame = np.frombuffer(bg[: w * h * 3], np.uint8).reshape(h, w, 3).copy()
    faces = []
    y = 40.0
    for row in range(9):
        hh = round(26 * (300 / 26) ** (row / 8))  # 26 px at the back to 300 px at the front
        patch = head(hh)
        pw = patch.shape[1]
        step = pw * 1.6
        x = 30.0 + (row % 2) * step / 2
        while x + pw < w - 10:
            paste(frame, patch, x, y)
            faces.append(face_box(x, y, hh))
            x += step
        y += hh * 2.6
        if y + hh * 1.2 >= h:
            break
    Image.fromarray(frame).save(dst / name, quality=92)
    truth = {name: faces}
    truth_path.write_text(json.dumps(truth))
    return truth


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short clips, few images (smoke test)")
    ap.add_argument("--thorough", action="store_true", help="also the thorough preset")
    ap.add_argument("--only", choices=["video", "images"], help="run one half")
    ap.add_argument("--extras", action="store_true", help="also --text, --people head (tract)")
    args = ap.parse_args()
    for tool in ("ffmpeg", "/usr/bin/time"):
        if not shutil.which(tool):
            sys.exit(f"speed_bench: {tool} not found")
    venv_bin = Path(sys.executable).parent
    deface = os.environ.get("DEFACE", str(venv_bin / "deface"))
    unseen = os.environ.get("UNSEEN_BIN")
    if not unseen:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "unseen-cli", "--features", "ort"], cwd=ROOT,
                       check=True)
        unseen = str(ROOT / "target" / "release" / "unseen")
    env = dict(os.environ)
    if not env.get("ORT_DYLIB_PATH"):
        libs = sorted(glob.glob(str(venv_bin.parent / "lib" / "python3*" / "site-packages" / "onnxruntime" / "capi"
                                    / "libonnxruntime.so*")))
        if libs:
            env["ORT_DYLIB_PATH"] = libs[-1]
    backends = ["tract"] + (["ort"] if env.get("ORT_DYLIB_PATH") else [])
    presets = ["fast", "balanced"] + (["thorough"] if args.thorough else [])
    dur, count = (4, 8) if args.quick else (12, 24)
    OUT.mkdir(parents=True, exist_ok=True)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    version = subprocess.run([unseen, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {os.cpu_count()} CPUs, {cpu}; {version}; deface 1.5.0; onnxruntime "
          f"{Path(env.get('ORT_DYLIB_PATH', 'none')).name}; load average at start "
          f"{open('/proc/loadavg').read().split()[0]}")
    print()
    print("| input | tool | backend | preset | fps or s/image | vs deface | peak RSS (MiB) | full detections | protected |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    solid = ["--mode", "solid", "--shape", "box", "--quiet", "--overwrite"]

    def unseen_runs(label, inp, out_dir, measure, per, dsec, unit):
        configs = [(b, p, [], "") for b in backends for p in presets]
        if unit == "fps":  # the reference: every frame detected in full
            configs.append((backends[-1], "balanced", ["--keyframe-interval", "1"], ", every frame"))
        else:  # photos: what the cascade (the default) saves
            configs.append(("tract", "balanced", ["--no-cascade"], ", --no-cascade"))
        if args.extras:
            configs.append(("tract", "balanced", ["--text"], ", --text"))
            configs.append(("tract", "balanced", ["--people", "--people-cover", "head"], ", --people head"))
        for backend, preset, extra, suffix in configs:
            name = f"{backend}_{preset}" + "".join(c for c in suffix if c.isalnum() or c == " ").replace(" ", "_")
            report = out_dir / f"report_{name}.json"
            dst = out_dir / f"unseen_{name}"
            sec, rss = timed([unseen, *solid, "--backend", backend, "--preset", preset, *extra, "--report",
                              str(report), "-o", str(dst), str(inp)], env)
            rep = json.loads(report.read_text())
            used = rep["backend"]
            fulls = sum((f.get("video") or {}).get("full_detections", 0) for f in rep["files"])
            frames = sum((f.get("video") or {}).get("frames", 0) for f in rep["files"])
            prot, _ = measure(dst)
            speed = f"{per / sec:.2f}" if unit == "fps" else f"{sec / per:.3f} s"
            ratio = dsec / sec
            full = f"{fulls}/{frames}" if frames else "-"
            shown = preset + suffix
            print(f"| {label} | unseen | {used} | {shown} | {speed} | {ratio:.2f}x | {rss:.0f} | {full} | "
                  f"{prot:.3f} |", flush=True)

    if args.only != "images":
        for w, h in ((1280, 720), (1920, 1080)):
            label = f"{h}p clip"
            clip = OUT / f"faces_{h}p_{dur}s.mp4"
            truth = make_clip(w, h, dur, clip)
            frames = len(truth)
            out_dir = OUT / f"{h}p"
            out_dir.mkdir(exist_ok=True)
            d_out = out_dir / "deface.mp4"
            dsec, drss = timed([deface, "--replacewith", "solid", "--keep-audio", "-o", str(d_out), str(clip)])
            dprot, faces = video_protected(d_out, truth)
            print(f"| {label} ({frames} frames, {faces} face-frames) | deface | onnxruntime | original size | "
                  f"{frames / dsec:.2f} | 1.00x | {drss:.0f} | {frames}/{frames} | {dprot:.3f} |", flush=True)
            unseen_runs(label, clip, out_dir, lambda d: video_protected(d / clip.name, truth), frames, dsec, "fps")

    if args.only != "video":
        src = OUT / f"images_{count}"
        truth = make_images(count, src)
        faces = sum(len(v) for v in truth.values())

        def images_protected(folder, suffix=""):
            ok = 0
            for name, boxes in truth.items():
                stem, ext = os.path.splitext(name)
                path = folder / f"{stem}{suffix}{ext}"
                if path.exists():
                    img = np.asarray(Image.open(path).convert("RGB"))
                    ok += sum(protected(img, b) for b in boxes)
            return ok / faces, faces

        d_dir = OUT / "images_deface"
        shutil.rmtree(d_dir, ignore_errors=True)
        d_dir.mkdir()
        for name in truth:
            shutil.copy(src / name, d_dir / name)
        dsec, drss = timed([deface, "--replacewith", "solid", *[str(d_dir / n) for n in truth]])
        dprot, _ = images_protected(d_dir, "_anonymized")
        label = f"{count} JPEGs 1080p"
        print(f"| {label} ({faces} faces) | deface | onnxruntime | original size | {dsec / count:.3f} s | 1.00x | "
              f"{drss:.0f} | - | {dprot:.3f} |", flush=True)
        img_out = OUT / "images_unseen"
        img_out.mkdir(exist_ok=True)
        unseen_runs(label, src, img_out, lambda d: images_protected(d), count, dsec, "s/image")

        # one 12 MP photo of a crowd
        crowd_src = OUT / "crowd"
        crowd = make_crowd(crowd_src)
        (name, boxes), = crowd.items()
        cfaces = len(boxes)

        def crowd_protected(path):
            img = np.asarray(Image.open(path).convert("RGB"))
            return sum(protected(img, b) for b in boxes) / cfaces, cfaces

        d_dir = OUT / "crowd_deface"
        shutil.rmtree(d_dir, ignore_errors=True)
        d_dir.mkdir()
        shutil.copy(crowd_src / name, d_dir / name)
        dsec, drss = timed([deface, "--replacewith", "solid", str(d_dir / name)])
        stem, ext = os.path.splitext(name)
        dprot, _ = crowd_protected(d_dir / f"{stem}_anonymized{ext}")
        label = "12 MP crowd photo"
        print(f"| {label} ({cfaces} faces) | deface | onnxruntime | original size | {dsec:.3f} s | 1.00x | "
              f"{drss:.0f} | - | {dprot:.3f} |", flush=True)
        crowd_out = OUT / "crowd_unseen"
        crowd_out.mkdir(exist_ok=True)
        unseen_runs(label, crowd_src / name, crowd_out, lambda d: crowd_protected(d / name), 1, dsec, "s/image")


if __name__ == "__main__":
    main()
