#!/usr/bin/env bash
# Makes the seed inputs of every fuzz target under fuzz/seeds/<target>/ (ignored by git) from
# the repository's fixtures (testdata/good, testdata/bad) and from short clips that ffmpeg
# renders here: images for the image targets; ffprobe's JSON of clips in MP4, MOV, Matroska and
# WebM (with audio, rotation, chapters and tags) for video_probe; ffmpeg's NUT output, made with
# the decoder's own options, for nut_reader; MP4s written by unseen and raw clips for mp4_boxes;
# the README's regions files for regions.
#
#   fuzz/seeds.sh [path/to/unseen]     # default: target/debug/unseen
set -euo pipefail
cd "$(dirname "$0")"
unseen=$(realpath "${1:-../target/debug/unseen}")
out=seeds
rm -rf "$out"
for t in process_bytes image_path check_container decode_image nut_reader video_probe mp4_boxes regions; do
    mkdir -p "$out/$t"
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# images: every small fixture, good and malformed (libFuzzer's -max_len cuts the big ones)
for f in ../testdata/good/* ../testdata/bad/*; do
    case "$f" in *.mp4|*.mkv|*.mov) continue ;; esac
    [ "$(stat -c %s "$f")" -le 65536 ] || continue
    for t in process_bytes image_path check_container decode_image; do cp "$f" "$out/$t/"; done
done

# small images in each format and its variants (decode_image fuzzes with a 128×128 pixel limit):
# libFuzzer mutates these deep into each decoder instead of stopping at the limit check
small() { ffmpeg -hide_banner -v error -y -f lavfi -i testsrc2=size=48x32 -frames:v 1 "$@"; }
s="$out/decode_image"
small -pix_fmt yuvj420p "$s/s420.jpg"; small -pix_fmt yuvj444p "$s/s444.jpg"; small -pix_fmt gray "$s/sgray.jpg"
small -pix_fmt rgb24 "$s/srgb.png"; small -pix_fmt rgba "$s/srgba.png"; small -pix_fmt pal8 "$s/spal.png"
small -pix_fmt gray16be "$s/sgray16.png"; small -pix_fmt rgb48be "$s/srgb48.png"; small -pix_fmt ya8 "$s/sya8.png"
small -pix_fmt rgb24 -compression_algo raw "$s/sraw.tif"; small -pix_fmt rgb24 -compression_algo lzw "$s/slzw.tif"
small -pix_fmt rgb24 -compression_algo deflate "$s/sdeflate.tif"; small -pix_fmt rgba -compression_algo packbits "$s/srgba.tif"
small -pix_fmt gray "$s/sgray.tif"; small -pix_fmt rgb48le "$s/srgb48.tif"
small -pix_fmt bgr24 "$s/s24.bmp"; small -pix_fmt bgra "$s/s32.bmp"; small -pix_fmt pal8 "$s/s8.bmp"
small -pix_fmt rgb565le "$s/s16.bmp"; small "$s/s.gif"
small -c:v libwebp "$s/slossy.webp" || true; small -c:v libwebp -lossless 1 "$s/slossless.webp" || true
small -c:v libwebp -pix_fmt yuva420p "$s/salpha.webp" || true
heif-enc -q 50 -o "$s/s.heic" "$s/srgb.png" >/dev/null 2>&1 || true
heif-enc -q 50 -o "$s/srgba.heic" "$s/srgba.png" >/dev/null 2>&1 || true
cp "$s"/s*.* "$out/process_bytes/"; cp "$s"/s*.* "$out/image_path/"

# clips: tiny, one second, several containers and codecs; with audio, rotation, tags, chapters
ff() { ffmpeg -hide_banner -v error -y "$@"; }
src=(-f lavfi -i testsrc=size=32x24:rate=5 -f lavfi -i sine=frequency=440:sample_rate=8000 -t 1)
ff "${src[@]}" -c:v libx264 -pix_fmt yuv420p -c:a aac -metadata title=t -metadata:s:v rotate=90 "$tmp/a.mp4"
ff "${src[@]}" -c:v libx264 -pix_fmt yuv420p -an "$tmp/b.mov"
ff "${src[@]}" -c:v mpeg4 -c:a mp2 -metadata comment=c "$tmp/c.mkv"
ff "${src[@]}" -c:v libvpx-vp9 -b:v 50k -c:a libopus "$tmp/d.webm" || true
ff -f lavfi -i testsrc=size=32x24:rate=5 -t 1 -c:v libx265 -pix_fmt yuv420p10le -color_primaries bt2020 \
    -color_trc smpte2084 -colorspace bt2020nc -x265-params log-level=none "$tmp/e.mp4" || true
cp ../testdata/bad/*.mp4 ../testdata/bad/*.mkv "$tmp/"
i=0
for clip in "$tmp"/*; do
    i=$((i + 1))
    probe=(ffprobe -hide_banner -v error -print_format json -show_format -show_streams -show_chapters -show_programs)
    "${probe[@]}" "$clip" > "$out/video_probe/$i.json" 2>/dev/null || rm -f "$out/video_probe/$i.json"
    "${probe[@]}" -count_packets "$clip" > "$out/video_probe/$i-count.json" 2>/dev/null || rm -f "$out/video_probe/$i-count.json"
    ffmpeg -hide_banner -nostdin -v error -i "$clip" -map 0:v:0 -frames:v 2 -vf scale=8:6 -fps_mode passthrough \
        -enc_time_base:v -1 -c:v rawvideo -pix_fmt rgb24 -map_metadata -1 -map_chapters -1 -fflags +bitexact \
        -f nut "$out/nut_reader/$i.nut" 2>/dev/null || rm -f "$out/nut_reader/$i.nut"
    [ "$(stat -c %s "$clip")" -le 65536 ] && cp "$clip" "$out/mp4_boxes/"
done
# MP4s that pass the allow-list: unseen's own outputs
"$unseen" -q --out "$tmp/out" "$tmp/a.mp4" "$tmp/b.mov" "$tmp/c.mkv" >/dev/null 2>&1 || true
cp "$tmp"/out/*.mp4 "$out/mp4_boxes/" 2>/dev/null || true

# regions files (README's examples, and the review page's decisions)
cat > "$out/regions/a.json" <<'JSON'
{
  "protest/IMG_0042.jpg": {
    "obscure": [{"x": 100, "y": 40, "w": 80, "h": 90}],
    "ignore":  [{"x": 0, "y": 0, "w": 300, "h": 200}]
  },
  "*": { "obscure": [{"x": 0, "y": 0, "w": 64, "h": 64}] }
}
JSON
cat > "$out/regions/b.json" <<'JSON'
{
  "march/clip.mp4": {
    "obscure": [{"x": 10, "y": 20, "w": 60, "h": 60, "frames": [30, 89]}],
    "ignore":  [{"x": 400, "y": 80, "w": 50, "h": 60, "frames": [12, 12]}],
    "reviewed": true
  }
}
JSON
for t in "$out"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
