#!/usr/bin/env python3
"""Recall and cost of `unseen --text` on bench/text_set (rendered plates, badges, signs and
placards in five scripts with known boxes; see bench/text_set/README.md).

Runs the given unseen binary once over the set with `--text --report`, rebuilds the obscured
text regions from the report exactly as the library does (the detector's box padded by a quarter
of its height, at least 2 px, on every side; pixels touched by a region count), and prints:

- per object: the share of its letters that the text regions cover, measured on its `ink`
  boxes (the tight box of each drawn line or field, see bench/text_set/README.md). An object is
  **found** when at least half of its ink area is covered, **covered** when at least 95 % is,
  and **whole** when every ink box is covered entirely (nothing of any line left readable);
- recall by kind, script and text height;
- the obscured share of the image area outside every object (and outside the photos' own
  text, listed as `ignore`): the cost in false regions;
- seconds per image (the whole run, one process, decode + faces + text + encode + verify).

Usage: bench/text_recall.py [--unseen target/release/unseen] [--set bench/text_set] [--json]
No third-party Python packages are needed.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

TEXT_PAD = 0.25
TEXT_PAD_MIN = 2.0


def region(d):
    pad = max(d["h"] * TEXT_PAD, TEXT_PAD_MIN)
    return (d["x"] - pad, d["y"] - pad, d["x"] + d["w"] + pad, d["y"] + d["h"] + pad)


def bounds(r, w, h):
    x0 = int(math.floor(max(r[0], 0.0)))
    y0 = int(math.floor(max(r[1], 0.0)))
    x1 = min(int(math.ceil(max(min(r[2], w), 0.0))), w)
    y1 = min(int(math.ceil(max(min(r[3], h), 0.0))), h)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def mask_of(regions, w, h):
    m = bytearray(w * h)
    for r in regions:
        b = bounds(r, w, h)
        if not b:
            continue
        x0, y0, x1, y1 = b
        for y in range(y0, y1):
            m[y * w + x0:y * w + x1] = b"\x01" * (x1 - x0)
    return m


def covered_share(m, w, box):
    x1, y1, x2, y2 = box
    total = (x2 - x1) * (y2 - y1)
    hit = sum(sum(m[y * w + x1:y * w + x2]) for y in range(y1, y2))
    return hit / total if total else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--unseen", default="target/release/unseen")
    ap.add_argument("--set", default=os.path.join(os.path.dirname(__file__), "text_set"))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    entries = json.load(open(os.path.join(a.set, "boxes.json")))
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        start = time.time()
        subprocess.run([a.unseen, "--text", "--report", report, "-o", os.path.join(tmp, "out"), "-q", "-j", "1"]
                       + [os.path.join(a.set, e["file"]) for e in entries], check=True)
        seconds = time.time() - start
        rep = json.load(open(report))
    by_file = {os.path.basename(f["input"]): f for f in rep["files"]}
    rows = []
    false_area = 0.0
    for e in entries:
        f = by_file[e["file"]]
        assert f["status"] == "ok", f
        w, h = 640, 480
        m = mask_of([region(d) for d in f.get("text", [])], w, h)
        for o in e["objects"]:
            ink = o["ink"]
            area = sum((b[2] - b[0]) * (b[3] - b[1]) for b in ink)
            share = sum(covered_share(m, w, b) * (b[2] - b[0]) * (b[3] - b[1]) for b in ink) / area
            whole = all(covered_share(m, w, b) >= 1.0 for b in ink)
            rows.append(dict(o, share=share, whole=whole))
        outside = bytearray(m)
        for b in [o["box"] for o in e["objects"]] + e.get("ignore", []):
            x1, y1, x2, y2 = b
            for y in range(max(y1, 0), min(y2, h)):
                outside[y * w + max(x1, 0):y * w + min(x2, w)] = b"\x00" * (min(x2, w) - max(x1, 0))
        false_area += sum(outside) / (w * h)

    def rec(sel):
        s = [r for r in rows if sel(r)]
        n = len(s)
        found = sum(r["share"] >= 0.5 for r in s)
        cov = sum(r["share"] >= 0.95 for r in s)
        whole = sum(r["whole"] for r in s)
        return n, found / n if n else 0.0, cov / n if n else 0.0, whole / n if n else 0.0

    groups = [("all", lambda r: True)]
    groups += [(f"kind {k}", lambda r, k=k: r["kind"] == k) for k in ["plate", "badge", "sign", "placard"]]
    groups += [(f"script {s}", lambda r, s=s: r["script"] == s)
               for s in ["latin", "persian", "arabic", "chinese", "cyrillic"]]
    groups += [("text 8-14 px", lambda r: r["text_height"] <= 14),
               ("text 15-30 px", lambda r: 15 <= r["text_height"] <= 30),
               ("text > 30 px", lambda r: r["text_height"] > 30)]
    table = [(name,) + rec(sel) for name, sel in groups]
    summary = {
        "images": len(entries),
        "objects": len(rows),
        "false_area": false_area / len(entries),
        "seconds_per_image": seconds / len(entries),
        "groups": {name: {"objects": n, "found": f, "covered": c, "whole": wh} for name, n, f, c, wh in table},
        "missed": [(r["kind"], r["script"], r["text_height"], r["text"], round(r["share"], 2))
                   for r in rows if r["share"] < 0.95],
    }
    if a.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    print("| objects | n | found (>= 50 % of ink covered) | covered (>= 95 %) | every line whole |")
    print("|---|---|---|---|---|")
    for name, n, f, c, wh in table:
        print(f"| {name} | {n} | {f:.2f} | {c:.2f} | {wh:.2f} |")
    print()
    print(f"obscured share of the image outside every object: {summary['false_area']:.4f}; "
          f"{summary['seconds_per_image']:.2f} s/image ({len(entries)} images, one process, -j 1)")
    print("not covered (kind, script, text height, text, covered share of ink):", file=sys.stderr)
    for m in summary["missed"]:
        print("  ", m, file=sys.stderr)


if __name__ == "__main__":
    main()
