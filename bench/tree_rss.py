#!/usr/bin/env python3
"""Peak memory of a command and its children (BENCHMARKS.md, "Memory admission").

/usr/bin/time reports the largest single process; for a video the ffmpeg decoder and x264 run
beside unseen, and what can run a machine out of memory is their sum. This samples VmRSS of the
command and of its direct children every 0.1 s and prints the peaks: the command's, the
children's together, and the tree's (the largest simultaneous sum). Short peaks between two
samples are missed, so the figures are lower bounds.

usage: python3 bench/tree_rss.py COMMAND [ARGS...]
"""
import os
import subprocess
import sys
import time


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    start = time.time()
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_main = peak_kids = peak_tree = 0
    while proc.poll() is None:
        main_kib = rss_kib(proc.pid)
        kids_kib = sum(rss_kib(c) for c in children(proc.pid))
        peak_main, peak_kids = max(peak_main, main_kib), max(peak_kids, kids_kib)
        peak_tree = max(peak_tree, main_kib + kids_kib)
        time.sleep(0.1)
    print(f"rc {proc.returncode} {time.time() - start:.1f} s main {peak_main / 1024:.0f} MiB "
          f"children {peak_kids / 1024:.0f} MiB tree {peak_tree / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
