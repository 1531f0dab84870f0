#!/usr/bin/env python3
"""Peak memory, time and faces covered on very large photos (BENCHMARKS.md, ninth session):
the benchmark's 12 MP crowd (417 faces) placed on noise in a 48 MP photo (top left, bottom
right, middle) and twice in a 108 MP photo, run with the unseen binary given (tract, solid
boxes). Prints one Markdown table row per photo.

usage: bench/.venv/bin/python bench/large_photos.py [UNSEEN_BIN]   (default target/release/unseen)
"""
import json
import sys

import numpy as np
from PIL import Image

from speed_bench import OUT, make_crowd, protected, timed

Image.MAX_IMAGE_PIXELS = None


def main():
    unseen = sys.argv[1] if len(sys.argv) > 1 else str(OUT.parent.parent.parent / "target" / "release" / "unseen")
    truth = next(iter(make_crowd(OUT / "crowd").values()))
    crowd = Image.open(OUT / "crowd" / "crowd_12mp.jpg")
    dst = OUT / "large"
    dst.mkdir(parents=True, exist_ok=True)
    photos = [("48mp_top_left", (8000, 6000), [(0, 0)]), ("48mp_bottom_right", (8000, 6000), [(4000, 3000)]),
              ("48mp_middle", (8000, 6000), [(2000, 1500)]), ("108mp_two", (12000, 9000), [(0, 0), (8000, 6000)])]
    print("| photo | time, s | peak RSS, MiB | protected | faces ≥ 20 px protected |")
    print("|---|---|---|---|---|")
    for seed, (name, (w, h), places) in enumerate(photos):
        src = dst / f"{name}.jpg"
        if not src.exists():
            rng = np.random.default_rng(seed)
            bg = Image.fromarray((rng.integers(90, 140, (h, w, 1)) * np.ones((1, 1, 3))).astype(np.uint8))
            for p in places:
                bg.paste(crowd, p)
            bg.save(src, quality=90)
        out = dst / f"out_{name}"
        sec, rss = timed([unseen, str(src), "-o", str(out), "--overwrite", "-q", "--backend", "tract",
                          "--mode", "solid", "--shape", "box"])
        img = np.asarray(Image.open(out / src.name).convert("RGB"))
        boxes = [[f[0] + dx, f[1] + dy, f[2] + dx, f[3] + dy] for dx, dy in places for f in truth]
        ok = [protected(img, b) for b in boxes]
        big = [o for o, b in zip(ok, boxes) if b[3] - b[1] >= 20]
        print(f"| {name} | {sec:.1f} | {rss:.0f} | {sum(ok)} of {len(ok)} | {sum(big)} of {len(big)} |", flush=True)


if __name__ == "__main__":
    main()
