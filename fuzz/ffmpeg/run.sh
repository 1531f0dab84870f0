#!/usr/bin/env bash
# Runs unseen, with its sandbox on, over phone-like clips and damaged copies of them, with
# ffmpeg and ffprobe replaced by the AddressSanitizer builds of build.sh (through
# UNSEEN_FFMPEG / UNSEEN_FFPROBE, so the exact command lines unseen uses), and counts what the
# sanitizers report. Every ASan/UBSan report is written under the output folder (the only place
# the sandbox lets ffmpeg write). Then runs ffmpeg's own libFuzzer harnesses (all whitelisted
# demuxers, H.264 and HEVC decoding) for FUZZ_SECONDS each, seeded with tiny clips of the same kinds.
#
#   fuzz/ffmpeg/run.sh BUILD_WORKDIR UNSEEN_BIN WORKDIR [FUZZ_SECONDS]   (BUILD_WORKDIR: build.sh's)
set -euo pipefail
build=$(realpath "$1"); unseen=$(realpath "$2"); work=$3; secs=${4:-600}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work/clips" "$work/out"; mkdir -p "$work/clips" "$work/out/sanitizer"
work=$(realpath "$work"); c=$work/clips
ff() { ffmpeg -hide_banner -v error -y "$@"; }
v=(-f lavfi -i testsrc2=size=320x240:rate=30); a=(-f lavfi -i sine=frequency=440:sample_rate=48000)
ff "${v[@]}" "${a[@]}" -t 2 -c:v libx264 -pix_fmt yuv420p -c:a aac -display_rotation:v:0 90 "$c/phone_h264_rot90.mp4" 2>/dev/null ||
  ff "${v[@]}" "${a[@]}" -t 2 -c:v libx264 -pix_fmt yuv420p -c:a aac -metadata:s:v rotate=90 "$c/phone_h264_rot90.mp4"
ff "${v[@]}" "${a[@]}" -t 2 -c:v libx265 -pix_fmt yuv420p10le -tag:v hvc1 -color_primaries bt2020 -color_trc smpte2084 \
  -colorspace bt2020nc -x265-params log-level=none -c:a aac "$c/phone_hevc_hdr10.mov"
ff -f lavfi -i testsrc2=size=320x240:rate=30:duration=2 -f lavfi -i sine=frequency=440:sample_rate=48000:duration=3 \
  -c:v libx264 -pix_fmt yuv420p -c:a aac "$c/audio_longer_than_video.mp4"
ff -itsoffset 0.4 "${v[@]}" "${a[@]}" -t 2 -c:v libx264 -pix_fmt yuv420p -c:a aac "$c/streams_start_apart.mp4"
ff "${v[@]}" "${a[@]}" -t 2 -c:v libvpx-vp9 -b:v 200k -c:a libopus "$c/vp9_opus.webm"
ff "${v[@]}" "${a[@]}" -t 2 -c:v mpeg4 -c:a libmp3lame "$c/mpeg4_mp3.mkv"
ff "${v[@]}" "${a[@]}" -t 2 -c:v mjpeg -c:a pcm_s16le "$c/mjpeg_pcm.avi"
ff "${v[@]}" "${a[@]}" -t 2 -c:v libx264 -pix_fmt yuv420p -c:a aac "$c/h264_aac.ts"
ff "${v[@]}" -t 1 -vf scale=160:120 "$c/animated.gif"
ff "${v[@]}" -t 1 -vf scale=160:120 -plays 0 -f apng "$c/animated_apng.png"
# damaged copies: cut at 10 offsets, 8 with bytes overwritten, 4 with a zeroed range (seeded)
python3 - "$c" <<'PY'
import os, random, sys
c = sys.argv[1]; rnd = random.Random(15)
for name in sorted(os.listdir(c)):
    data = open(os.path.join(c, name), "rb").read(); stem, ext = os.path.splitext(name)
    for i in range(10):
        open(os.path.join(c, f"{stem}_cut{i}{ext}"), "wb").write(data[: rnd.randrange(16, len(data))])
    for i in range(8):
        b = bytearray(data)
        for _ in range(rnd.choice([1, 4, 32, 256])):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        open(os.path.join(c, f"{stem}_flip{i}{ext}"), "wb").write(b)
    for i in range(4):
        b = bytearray(data); s = rnd.randrange(len(b)); n = rnd.randrange(1, 4096)
        b[s : s + n] = bytes(len(b[s : s + n]))
        open(os.path.join(c, f"{stem}_zero{i}{ext}"), "wb").write(b)
PY
cp "$here"/../../testdata/bad/*.mp4 "$here"/../../testdata/bad/*.mkv "$here"/../../testdata/good/*.mp4 "$c/"
for f in "$here"/../corpus/mp4_boxes/*; do cp "$f" "$c/box_$(basename "$f").mp4"; done
n=$(ls "$c" | wc -l)
echo "inputs: $n files in $c"

# unseen over all of them, the sanitized ffmpeg/ffprobe in its place
s=$work/out/sanitizer
start=$(date +%s)
set +e
ASAN_OPTIONS="log_path=$s/asan:detect_leaks=1:allocator_may_return_null=1" UBSAN_OPTIONS="log_path=$s/ubsan:print_stacktrace=1" \
  UNSEEN_FFMPEG="$build/ffmpeg-5.1.9/ffmpeg_g" UNSEEN_FFPROBE="$build/ffmpeg-5.1.9/ffprobe_g" \
  "$unseen" -q -j 2 --report "$work/report.json" --out "$work/out" "$c" 2> "$work/unseen.stderr"
rc=$?
set -e
echo "unseen exit $rc after $(( $(date +%s) - start )) s"
python3 - "$work/report.json" <<'PY'
import json, sys, collections
r = json.load(open(sys.argv[1]))
files = r["files"] if isinstance(r, dict) else r
st = collections.Counter(f.get("status") for f in files)
print("report:", dict(st))
PY
asan=$(cat "$s"/asan* 2>/dev/null | grep -c "ERROR: AddressSanitizer\|ERROR: LeakSanitizer" || true)
ubsan=$(cat "$s"/ubsan* 2>/dev/null | grep -c "runtime error" || true)
echo "sanitizer reports: ASan/LSan $asan, UBSan $ubsan (files: $(ls "$s" | wc -l))"

# ffmpeg's own harnesses, seeded with tiny clips (32x24, 5 frames: fast executions) in each
# container and codec above, and their raw H.264 and HEVC streams for the decoder harnesses
[ "$secs" -gt 0 ] || exit 0
t=$work/seeds; mkdir -p "$t/dem" "$t/h264" "$t/hevc" "$work/fuzz/dem" "$work/fuzz/h264" "$work/fuzz/hevc"
tv=(-f lavfi -i testsrc2=size=32x24:rate=5); ta=(-f lavfi -i sine=sample_rate=8000)
ff "${tv[@]}" "${ta[@]}" -t 1 -c:v libx264 -pix_fmt yuv420p -c:a aac -display_rotation:v:0 90 "$t/dem/a.mp4" 2>/dev/null ||
  ff "${tv[@]}" "${ta[@]}" -t 1 -c:v libx264 -pix_fmt yuv420p -c:a aac "$t/dem/a.mp4"
ff "${tv[@]}" -t 1 -c:v libx265 -pix_fmt yuv420p10le -tag:v hvc1 -x265-params log-level=none "$t/dem/b.mov"
ff "${tv[@]}" "${ta[@]}" -t 1 -c:v libvpx-vp9 -c:a libopus "$t/dem/c.webm"
ff "${tv[@]}" "${ta[@]}" -t 1 -c:v mpeg4 -c:a libmp3lame "$t/dem/d.mkv"
ff "${tv[@]}" "${ta[@]}" -t 1 -c:v mjpeg -c:a pcm_s16le "$t/dem/e.avi"
ff "${tv[@]}" "${ta[@]}" -t 1 -c:v libx264 -pix_fmt yuv420p -c:a aac "$t/dem/f.ts"
ff "${tv[@]}" -t 1 "$t/dem/g.gif"
ff "${tv[@]}" -t 1 -f apng "$t/dem/h.png"
ff -i "$t/dem/f.ts" -c:v copy -an -bsf:v h264_mp4toannexb -f h264 "$t/h264/a.h264"
ff -i "$t/dem/b.mov" -c:v copy -an -f hevc "$t/hevc/a.hevc"
for spec in dem:target_dem_fuzzer h264:target_dec_h264_fuzzer hevc:target_dec_hevc_fuzzer; do
  IFS=: read -r name bin <<< "$spec"
  ( cd "$work/fuzz" && "$build/fuzzers/$bin" -max_total_time="$secs" -max_len=65536 -timeout=25 -rss_limit_mb=2560 \
      -print_final_stats=1 -artifact_prefix="$work/fuzz/$name-" "$work/fuzz/$name" "$t/$name" > "$work/fuzz/$name.log" 2>&1 ) &
done
wait
for name in dem h264 hevc; do
  echo "$name: $(grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$work/fuzz/$name.log" | tr -s ' ' | tr '\n' ' ') \
crashes $(ls "$work/fuzz" | grep -c "^$name-" || true); $(grep -o 'cov: [0-9]*' "$work/fuzz/$name.log" | tail -1)"
done
