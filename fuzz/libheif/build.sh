#!/bin/sh
# Builds fuzz/libheif/decode_fuzzer.c with AddressSanitizer and libFuzzer against Debian 12's
# own sources of libheif (1.15.1-1+deb12u1) and libde265 (1.0.11-1+deb12u2), Debian's patches
# applied, both built with ASan too: the C code unseen runs for HEIC, instrumented.
# Needs clang, cmake and a deb-src line for bookworm (apt-get source). Usage:
#   fuzz/libheif/build.sh WORKDIR      # leaves WORKDIR/decode_fuzzer
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: build.sh WORKDIR}
mkdir -p "$work" && cd "$work"
[ -d libde265-1.0.11 ] || apt-get source -q libde265=1.0.11-1+deb12u2
[ -d libheif-1.15.1 ] || apt-get source -q libheif=1.15.1-1+deb12u1
flags="-fsanitize=address,fuzzer-no-link -g -O1 -fno-omit-frame-pointer"
export CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags"
cmake -S libde265-1.0.11 -B de265-build -DCMAKE_BUILD_TYPE=None -DBUILD_SHARED_LIBS=OFF \
  -DENABLE_SDL=OFF -DENABLE_ENCODER=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build de265-build -j2 --target install >/dev/null
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" cmake -S libheif-1.15.1 -B heif-build -DCMAKE_BUILD_TYPE=None \
  -DBUILD_SHARED_LIBS=OFF -DENABLE_PLUGIN_LOADING=OFF -DWITH_EXAMPLES=OFF -DWITH_LIBDE265=ON \
  -DWITH_LIBDE265_PLUGIN=OFF -DWITH_X265=OFF -DWITH_DAV1D=OFF -DWITH_AOM_DECODER=OFF \
  -DWITH_AOM_ENCODER=OFF -DWITH_RAV1E=OFF -DWITH_SvtEnc=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix" >/dev/null
cmake --build heif-build -j2 --target install >/dev/null
clang -fsanitize=address,fuzzer -g -O1 -I"$work/prefix/include" "$here/decode_fuzzer.c" \
  "$work/prefix/lib/libheif.a" "$work/prefix/lib/libde265.a" -lstdc++ -lpthread -lm -o decode_fuzzer
echo "$work/decode_fuzzer"
