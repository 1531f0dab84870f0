#!/usr/bin/env python3
"""Tuning aid: combine per-pass prediction files (written by `unseen eval --write-predictions`
with one pass each) under per-pass score thresholds and face-height gates, merged with the
same NMS + box voting as unseen's detector, into one predictions file for `unseen eval
--predictions`. Used to choose the presets' passes; see BENCHMARKS.md.

usage: combine_passes.py OUT FILE:THR:MAXH[:MINH] [...]   (heights in source pixels)
"""
import sys


def read(path):
    out, lines = {}, [l for l in open(path) if l.strip()]
    i = 0
    while i < len(lines):
        name, n = lines[i].strip(), int(lines[i + 1])
        out[name] = [tuple(map(float, l.split())) for l in lines[i + 2:i + 2 + n]]
        i += 2 + n
    return out


def iou(a, b):
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    i = iw * ih
    return i / (a[2] * a[3] + b[2] * b[3] - i)


def nms_vote(dets, thr=0.3, vote=0.5):
    dets = sorted(dets, key=lambda d: -d[4])
    used, out = [False] * len(dets), []
    for i, top in enumerate(dets):
        if used[i]:
            continue
        used[i] = True
        acc = [0.0] * 5
        for j in range(i, len(dets)):
            if j != i and used[j]:
                continue
            o = iou(top, dets[j])
            if j != i and o >= thr:
                used[j] = True
            if j == i or o >= vote:
                d, s = dets[j], dets[j][4]
                acc[0] += d[0] * s; acc[1] += d[1] * s
                acc[2] += (d[0] + d[2]) * s; acc[3] += (d[1] + d[3]) * s; acc[4] += s
        x1, y1, x2, y2 = (acc[k] / acc[4] for k in range(4))
        out.append((x1, y1, x2 - x1, y2 - y1, top[4]))
    return out


def main():
    out_path, specs = sys.argv[1], sys.argv[2:]
    sources = []
    for spec in specs:
        parts = spec.split(':')
        f, thr, maxh = parts[0], float(parts[1]), float(parts[2])
        minh = float(parts[3]) if len(parts) > 3 else 0.0
        sources.append((read(f), thr, maxh, minh))
    names = list(sources[0][0].keys())
    with open(out_path, 'w') as o:
        for name in names:
            dets = [d for preds, thr, maxh, minh in sources for d in preds.get(name, [])
                    if d[4] >= thr and minh <= d[3] <= maxh]
            merged = nms_vote(dets)
            o.write(f"{name}\n{len(merged)}\n")
            for d in merged:
                o.write(" ".join(repr(v) for v in d) + "\n")


if __name__ == '__main__':
    main()
