#!/bin/sh
# Builds ffmpeg and ffprobe with AddressSanitizer and UndefinedBehaviorSanitizer, and
# ffmpeg's own libFuzzer harnesses (tools/target_dem_fuzzer.c for the demuxers,
# tools/target_dec_fuzzer.c for the H.264 and HEVC decoders), from Debian 12's own sources of
# ffmpeg 5.1.9 (7:5.1.9-0+deb12u1, Debian's patches applied: the ffmpeg unseen runs on Debian).
# Configured as unseen uses ffmpeg: only the demuxers of unseen's `-format_whitelist`
# (`decode::video::DEMUXERS`) and `nut` (the pipe back to the encoder), every native decoder,
# parser and bitstream filter, the filters and encoders unseen's command lines name (scale, pad,
# format, zscale, tonemap; libx264, aac), the `file` and `pipe` protocols, no network. External
# decoder libraries that Debian's ffmpeg links (dav1d for AV1, libvpx, libaom, ...) are not
# built: those formats fall back to ffmpeg's native decoders or are absent here.
#
# Needs clang, libclang-rt-14-dev, nasm, libx264-dev, libzimg-dev and a deb-src line for
# bookworm (apt-get source). About 16 min on 2 cores. Usage:
#   fuzz/ffmpeg/build.sh WORKDIR   # leaves WORKDIR/ffmpeg-5.1.9/{ffmpeg_g,ffprobe_g}, WORKDIR/fuzzers/
set -eu
work=${1:?usage: build.sh WORKDIR}
mkdir -p "$work" && cd "$work"
[ -d ffmpeg-5.1.9 ] || apt-get source -q ffmpeg=7:5.1.9-0+deb12u1
cd ffmpeg-5.1.9
# Debian's backported harness names a codec that 5.1 does not have
sed -i '/case AV_CODEC_ID_RTV1:/d' tools/target_dec_fuzzer.c
# Not --enable-ossfuzz: its coverage flags (trace-pc-guard) are refused by clang 14's libFuzzer,
# and it empties the codec list of the command-line tools. fuzzer-no-link instead.
./configure --cc=clang --cxx=clang++ --toolchain=clang-asan --optflags=-O1 \
  --extra-cflags="-fsanitize=undefined,fuzzer-no-link -fno-omit-frame-pointer" --extra-ldflags=-fsanitize=undefined \
  --libfuzzer=-fsanitize=fuzzer \
  --disable-doc --disable-network --disable-autodetect --enable-gpl --enable-libx264 --enable-libzimg --enable-zlib \
  --disable-demuxers --enable-demuxer=mov,matroska,avi,mpegts,gif,apng,nut \
  --disable-muxers --enable-muxer=mp4,mov,nut,null \
  --disable-encoders --enable-encoder=libx264,aac,rawvideo,wrapped_avframe,pcm_s16le \
  --disable-protocols --enable-protocol=file,pipe --disable-devices --disable-hwaccels \
  --disable-filters \
  --enable-filter=scale,format,pad,zscale,tonemap,null,anull,aresample,aformat,buffer,buffersink,abuffer,abuffersink,copy,acopy,setpts,asetpts,trim,atrim,hflip,vflip,transpose,fps \
  --disable-ffplay >/dev/null
# the tools and the demuxer harness, with every codec (so the harness decodes while probing)
make -j2 ffmpeg ffprobe tools/target_dem_fuzzer >/dev/null
mkdir -p ../fuzzers && cp tools/target_dem_fuzzer ../fuzzers/
# the decoder harness installs its codec into libavcodec's codec list, which only the OSS-Fuzz
# variant of allcodecs.c leaves writable: rebuild that one file with CONFIG_OSSFUZZ (config.h
# keeps its time stamp, so nothing else is rebuilt) and link the decoder harnesses
stamp=$(stat -c %Y config.h)
sed -i 's/#define CONFIG_OSSFUZZ 0/#define CONFIG_OSSFUZZ 1/' config.h
touch -d "@$stamp" config.h
rm -f libavcodec/allcodecs.o
make -j2 tools/target_dec_h264_fuzzer tools/target_dec_hevc_fuzzer >/dev/null
cp tools/target_dec_h264_fuzzer tools/target_dec_hevc_fuzzer ../fuzzers/
echo "tools (with symbols): $work/ffmpeg-5.1.9/ffmpeg_g, ffprobe_g; harnesses: $work/fuzzers"
