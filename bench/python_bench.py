#!/usr/bin/env python3
"""Python and Ray benchmark (issue 14): the same batch of 1080p JPEGs through the CLI (`-j 2`),
through the bindings in one process, and through Ray Data with 1 and 2 actors, on this machine,
in one run. Prints one Markdown table.

    target/python-venv/bin/python bench/python_bench.py [--count 24] [--bin target/debug/unseen]

Needs the `unseen` package installed in the running Python (`pip install ./python`) with
ray[data], and the CLI binary built with the same profile as the package (compare like with
like: by default both come from the dev profile .ci/run uses, dependencies at opt-level 3).
The images are bench/speed_bench.py's: 1920x1080, five heads each (360 to 40 px tall).

Each configuration runs on a fresh output folder; wall seconds are measured around the whole
call (for Ray: dataset creation, scheduling, actor start-up with its model load, processing).
Ray's own start-up (`ray.init`) is timed separately. Peak RSS: the CLI's under /usr/bin/time;
for the in-process runs the growth of this process's peak; for Ray the largest actor process.
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import speed_bench  # noqa: E402  (the image generator)

OUT = ROOT / "bench" / "out" / "python"


def fresh(name):
    d = OUT / name
    shutil.rmtree(d, ignore_errors=True)
    return d


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class ActorPeak:
    """Samples the RSS of Ray's worker processes (their /proc status) while a run goes on."""

    def __init__(self):
        self.peak, self.stop = 0.0, threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if b"ray::" not in cmd and b"default_worker" not in cmd:
                        continue
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            self.peak = max(self.peak, int(line.split()[1]) / 1024)
                except OSError:
                    pass
            time.sleep(0.1)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        self.t.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--bin", default=str(ROOT / "target" / "debug" / "unseen"))
    args = ap.parse_args()

    import ray

    import unseen
    import unseen.ray

    imgs = OUT / "images"
    speed_bench.OUT = OUT
    OUT.mkdir(parents=True, exist_ok=True)
    speed_bench.make_images(args.count, imgs)
    files = sorted(imgs.glob("*.jpg"))
    n = len(files)
    rows = []

    def add(name, sec, rss, note=""):
        rows.append((name, sec, rss, note))
        print(f"  {name}: {sec:.1f} s", file=sys.stderr)

    # 1. the CLI, two files at a time
    out = fresh("cli")
    speed_bench.OUT = OUT
    sec, rss = speed_bench.timed([args.bin, "-q", "-j", "2", "-o", str(out)] + [str(f) for f in files])
    add("CLI `-j 2`", sec, rss, "one process, 2 files at a time, 2 detector threads each")

    # 2. bindings, one process: one Anonymizer, files one after another (2 detector threads)
    a = unseen.Anonymizer(threads=2)
    base = peak_mib()
    t = time.perf_counter()
    for f in files:
        a.process_bytes(f.read_bytes(), f.name)
    add("bindings, 1 thread", time.perf_counter() - t, peak_mib(), "process_bytes in a loop, threads=2")

    # 3. bindings, one process, two Python threads sharing one Anonymizer (GIL released)
    a1 = unseen.Anonymizer(threads=1)
    out = fresh("threads")
    out.mkdir(parents=True)
    t = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda f: a1.process_file(f, out / f.name), files))
    add("bindings, 2 threads", time.perf_counter() - t, peak_mib(), "process_file from 2 threads, threads=1")
    del base

    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    init = time.perf_counter() - t
    ray_rows = {}
    for actors in (1, 2):
        out = fresh(f"ray{actors}")
        with ActorPeak() as p:
            t = time.perf_counter()
            res = unseen.ray.anonymize_folder(imgs, out, concurrency=actors, num_cpus=2 // actors)
            sec = time.perf_counter() - t
        bad = [r for r in res.take_all() if r["status"] != "ok"]
        if bad:
            sys.exit(f"python_bench: Ray run failed: {bad[:2]}")
        ray_rows[actors] = sec
        add(f"Ray, {actors} actor{'s' if actors > 1 else ''}", sec, p.peak,
            f"anonymize_folder, {2 // actors} CPU(s) and detector thread(s) per actor")
    ray.shutdown()

    print(f"\n{n} JPEGs 1920x1080 (five heads each), balanced preset, 2 cores; "
          f"1-min load average at the end {os.getloadavg()[0]:.2f} (the benchmark itself keeps both cores busy); ray.init {init:.1f} s (not included)\n")
    print("| run | wall s | images/s | s/image | peak RSS MiB | how |")
    print("|---|---:|---:|---:|---:|---|")
    for name, sec, rss, note in rows:
        print(f"| {name} | {sec:.1f} | {n / sec:.2f} | {sec / n:.2f} | {rss:.0f} | {note} |")
    # like against like: one engine with 2 threads, and two engines with 1 thread each
    same = {1: "bindings, 1 thread", 2: "bindings, 2 threads"}
    for actors, sec in ray_rows.items():
        base = next(b for name, b, _, _ in rows if name == same[actors])
        print(f"\nRay overhead per file, {actors} actor(s) against {same[actors]}: {(sec - base) / n:+.3f} s")


if __name__ == "__main__":
    main()
