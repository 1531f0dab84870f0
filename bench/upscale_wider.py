#!/usr/bin/env python3
"""Writes a copy of a WIDER FACE-style folder with every image enlarged so that its longer side
is LONG pixels, in its original aspect ratio (the dev subset's images were squashed to 416x416),
and the face boxes scaled to match. It stands in for photos of phone size: on 416-px images the
balanced preset never runs its 1280-px overview, so `unseen eval` on the subset itself cannot
show what a change to that overview costs in recall. The enlarged images are blurrier than real
photos of that size; compare rows of one run, not with the subset's own figures.

usage: bench/.venv/bin/python bench/upscale_wider.py SRC DST LONG
  e.g. bench/upscale_wider.py ../shared/eval/widerface-dev /tmp/wider-1920 1920
DST must lie outside the repository: the images are CC BY-NC-ND and must never be committed.
"""
import shutil
import sys
from pathlib import Path

from PIL import Image


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, dst, long = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    if Path(__file__).resolve().parent.parent in dst.resolve().parents:
        sys.exit("upscale_wider: DST is inside the repository; WIDER FACE images must not be committed")
    size = {}
    for line in (src / "manifest.tsv").read_text().splitlines()[1:]:
        f = line.split("\t")
        size[f[0]] = tuple(int(v) for v in f[1:5])  # width, height, original width, original height
    lines = (src / "wider_face_gt.txt").read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        path, n = lines[i], int(lines[i + 1])
        boxes = lines[i + 2 : i + 2 + max(n, 1)]  # a file without faces has one line of zeros
        i += 2 + max(n, 1)
        w, h, ow, oh = size[path]
        tw, th = (long, round(long * oh / ow)) if ow >= oh else (round(long * ow / oh), long)
        sx, sy = tw / w, th / h
        target = dst / "images" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.open(src / "images" / path).convert("RGB").resize((tw, th), Image.BICUBIC).save(target, quality=95)
        out += [path, str(n)]
        for b in boxes:
            f = b.split()
            if n:
                f[0:4] = [str(round(float(f[0]) * sx)), str(round(float(f[1]) * sy)),
                          str(round(float(f[2]) * sx)), str(round(float(f[3]) * sy))]
            out.append(" ".join(f) + " ")
    (dst / "wider_face_gt.txt").write_text("\n".join(out) + "\n")
    for name in ("subsets.tsv", "manifest.tsv"):
        shutil.copy(src / name, dst / name)


if __name__ == "__main__":
    main()
