#!/usr/bin/env bash
# Regenerates the issue-11 fixtures (formats phones and messengers produce): HEIC and AVIF stills
# made with Debian's heif-enc from fixtures derived from the public-domain astronaut photo, GIFs
# (still and animated) made with ffmpeg, and malformed HEIC/AVIF files for testdata/bad/.
#
# Needs: heif-enc (Debian 12: libheif-examples 1.15.1, with the x265 and aom encoders), ffmpeg
# and python3 (standard library only). Other versions give other bytes, same cases.
set -euo pipefail

cd "$(dirname "$0")"
mkdir -p good bad
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ff() { ffmpeg -hide_banner -v error -y -nostdin "$@"; }

# HEIC with the EXIF of metadata_canary.jpg (heif-enc copies a JPEG's EXIF)
heif-enc -q 50 -o good/canary.heic good/metadata_canary.jpg
# HEIC whose stored picture lies on its side (the astronaut turned 90 degrees clockwise) with an
# `irot` property (one quarter turn anticlockwise) that turns it upright, as iPhones store portraits
ff -i good/astronaut.jpg -vf transpose=1 -q:v 2 "$work/sideways.jpg"
heif-enc -q 50 -o "$work/sideways.heic" "$work/sideways.jpg"
python3 heif_add_transform.py "$work/sideways.heic" good/astronaut_irot90.heic irot 1
# HEIC, 10-bit (from the 16-bit PNG)
heif-enc -q 50 -b 10 -o good/astronaut_10bit.heic good/rgb16.png
# HEIC with an alpha channel
heif-enc -q 50 -o good/rgba.heic good/rgba.png
# AVIF with a 64-px thumbnail item (the thumbnail shows the face: it must not survive)
heif-enc -A -q 50 -t 64 -o good/astronaut.avif good/astronaut.jpg

# GIF still: a 256x256 crop around the face (palette)
ff -i astronaut.png -vf "crop=256:256:100:0" good/astronaut_still.gif
# animated GIF: the face moving 4 px a frame (before scaling), 8 frames at 5 fps, 128x128
ff -loop 1 -i astronaut.png -vf "crop=160:160:140+n*4:40,scale=128:128" -r 5 -frames:v 8 good/astronaut_animated.gif
# animated PNG: the same, 4 frames, 96x96
ff -loop 1 -i astronaut.png -vf "crop=160:160:140+n*4:40,scale=96:96" -r 5 -frames:v 4 -plays 0 -f apng good/astronaut_animated_apng.png

# malformed HEIC/AVIF
head -c 0 /dev/null > bad/empty.heic
head -c 3000 good/canary.heic > bad/truncated_in_data.heic
head -c 200 good/canary.heic > bad/truncated_in_meta.heic
python3 - <<'PY'
import struct
src = open("good/canary.heic", "rb").read()
# the image size property (ispe) claims 60000x60000: refused by the pixel limit before decoding
i = src.index(b"ispe")
bomb = src[: i + 8] + struct.pack(">II", 60000, 60000) + src[i + 16 :]
open("bad/dims_60000x60000.heic", "wb").write(bomb)
# an HEIF image sequence (major brand msf1): not supported, named as such
seq = src[:8] + b"msf1" + src[12:]
open("bad/heif_sequence.heic", "wb").write(seq)
# garbage after a valid-looking ftyp
open("bad/ftyp_heic_then_garbage.heic", "wb").write(src[:32] + bytes(range(256)) * 8)
gif = open("good/astronaut_still.gif", "rb").read()
open("bad/empty.gif", "wb").write(b"")
open("bad/truncated_half.gif", "wb").write(gif[: len(gif) // 2])
# logical screen and image descriptor claim 65535x65535: refused by the pixel limit
g = bytearray(gif)
g[6:10] = struct.pack("<HH", 65535, 65535)
d = 13 + (3 << ((g[10] & 7) + 1) if g[10] & 0x80 else 0)
while g[d] == 0x21:  # skip extensions up to the image descriptor
    d += 2
    while g[d]:
        d += g[d] + 1
    d += 1
assert g[d] == 0x2C
g[d + 5 : d + 9] = struct.pack("<HH", 65535, 65535)
open("bad/dims_65535x65535.gif", "wb").write(bytes(g))
avif = open("good/astronaut.avif", "rb").read()
open("bad/truncated_half.avif", "wb").write(avif[: len(avif) // 2])
PY
ls -l good/*.heic good/*.avif good/*.gif good/*apng* bad/*.heic bad/*.avif bad/*.gif
