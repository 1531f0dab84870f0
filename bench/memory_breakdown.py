#!/usr/bin/env python3
"""What the peak memory of 1080p video is made of (issue 12's ≤ 200 MB target; BENCHMARKS.md,
tenth session): the first 4 s of the speed benchmark's 1080p clip, tract, balanced, solid boxes.

1. The `unseen` binary (mimalloc) under /usr/bin/time, with mimalloc's statistics: peak RSS,
   and how much the allocator had committed.
2. The library's `memory_probe` example (the same pipeline calls, system allocator) under
   heaptrack: the live heap at its peak, split by what allocated it (the call stacks of
   heaptrack's "peak memory consumers", sorted into a few groups).
3. The same on one 960x540 frame with the fast preset: one CenterFace pass at the size of the
   1080p overview, alone.

usage: python3 bench/memory_breakdown.py [UNSEEN_BIN]   (default target/release/unseen)
Needs ffmpeg, heaptrack (Debian package `heaptrack`) and /usr/bin/time; builds the example with
`cargo build --release --example memory_probe -p unseen`. Run bench/speed_bench.py once first
(it makes the clip).
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "bench" / "out" / "speed" / "faces_1080p_12s.mp4"
OUT = ROOT / "bench" / "out" / "memory"

# (group, patterns): the first group with a pattern found in an allocation's call stack
GROUPS = [
    ("tract plans (weights packed once per input shape)", ["eval_out_of_plan", "OptimizerSession", "into_optimized"]),
    ("parsed models", ["Plans::parse", "model_for_read", "YuNet::new"]),
    ("YuNet proposer (input tensor and activations)", ["YuNet::detect"]),
    ("CenterFace in windows (input mosaic and activations)", ["windows_pass"]),
    ("CenterFace over whole frames (overview; input and activations)", ["run_pass", "run_tile", "Network::run"]),
    ("decoded frames (lookahead, queues)", ["NutReader"]),
    ("obscuring, checks, signatures", ["finish_frame", "obscure::", "Signature"]),
]


def mib(text):
    """heaptrack's sizes ('93.93M', '569.34K', '12B'; powers of 1024) in MiB."""
    num, unit = float(text[:-1]), text[-1]
    return num * {"B": 1 / 2**20, "K": 1 / 2**10, "M": 1.0, "G": 2**10}.get(unit, 1 / 2**20)


def groups(report):
    """Sums the peak consumers of `heaptrack_print --print-peaks` into GROUPS."""
    sums = {g: 0.0 for g, _ in GROUPS}
    sums["other"] = 0.0
    blocks = re.split(r"\n(?=\S*\d[\d.]*[BKMG] consumed over)", report.split("PEAK MEMORY CONSUMERS", 1)[-1])
    for block in blocks[1:]:
        size = mib(block.split()[0])
        stack = block.split("\n", 1)[-1]
        if " peak memory consumed over " in stack:
            stack = stack.split(" peak memory consumed over ", 1)[0]
        group = next((g for g, pats in GROUPS if any(p in stack for p in pats)), "other")
        sums[group] += size
    return sums


def heaptrack(probe, media, *args):
    """heaptrack_print's report (peak consumers included) of memory_probe on `media`."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "heap"
        subprocess.run(["heaptrack", "-o", str(data), str(probe), str(media), str(OUT / "probe"), *args],
                       check=True, capture_output=True)
        return subprocess.run(["heaptrack_print", "-f", f"{data}.zst", "--print-peaks", "1", "--peak-limit", "200",
                               "--print-allocators", "0", "--print-temporary", "0", "--print-leaks", "0"],
                              check=True, capture_output=True, text=True).stdout


def main():
    unseen = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target" / "release" / "unseen")
    subprocess.run(["cargo", "build", "--release", "--example", "memory_probe", "-p", "unseen"], cwd=ROOT,
                   check=True, capture_output=True)
    probe = ROOT / "target" / "release" / "examples" / "memory_probe"
    OUT.mkdir(parents=True, exist_ok=True)
    cut = OUT / "cut_1080p_4s.mp4"
    if not cut.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(CLIP), "-t", "4", "-c", "copy", str(cut)], check=True)
    env = dict(os.environ, MIMALLOC_SHOW_STATS="1")
    run = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", unseen, str(cut), "-o", str(OUT / "out"),
                          "--overwrite", "-q", "--backend", "tract", "--mode", "solid", "--shape", "box"],
                         env=env, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"unseen failed: {run.stderr[-2000:]}")
    secs, rss = next(line.split()[1:] for line in run.stderr.splitlines() if line.startswith("TIME "))
    commit = re.search(r"peak commit: ([\d.]+) (\w+)", run.stderr)
    report = heaptrack(probe, cut)
    peak = re.search(r"peak heap memory consumption: ([\d.]+[BKMG])", report).group(1)
    # the overview's CenterFace pass alone: the fast preset on a 960x540 frame runs just that pass
    frame = OUT / "frame_960x540.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(cut), "-frames:v", "1", "-vf", "scale=960:540",
                    str(frame)], check=True)
    alone = re.search(r"peak heap memory consumption: ([\d.]+[BKMG])", heaptrack(probe, frame, "fast")).group(1)
    print(f"unseen binary (mimalloc): {float(secs):.1f} s, peak RSS {int(rss) / 1024:.0f} MiB, "
          f"allocator's peak commit {commit.group(1)} {commit.group(2) if commit else '?'}")
    print()
    print("| live heap at its peak (heaptrack, system allocator) | MiB |")
    print("|---|---:|")
    sums = groups(report)
    # heaptrack itemises each consumer's largest call stacks only
    sums["not itemised by heaptrack"] = mib(peak) - sum(sums.values())
    for group, size in sorted(sums.items(), key=lambda kv: -kv[1]):
        print(f"| {group} | {size:.0f} |")
    print(f"| **total** (heaptrack's peak heap consumption) | **{mib(peak):.0f}** |")
    print()
    print(f"One CenterFace pass at the overview's 960x540 alone (fast preset on a 960x540 frame; models, "
          f"plan and image included): peak heap {mib(alone):.0f} MiB")


if __name__ == "__main__":
    main()
