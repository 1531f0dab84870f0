#!/usr/bin/env bash
# Regenerates testdata/bad/: small malformed and hostile inputs that unseen must refuse with a
# one-line error (no panic, no output, input untouched). Every file is synthetic (ffmpeg's
# testsrc2 pattern, sine tone, or bytes written here), so none carries copyrightable content.
# The test over this folder is crates/unseen/tests/it/bad_inputs.rs (image-rs tests/bad_images.rs
# style: every file in bad/ must error). bad/truncated.jpg is made by make_fixtures.sh.
#
# Needs: ffmpeg (with libwebp and libx264) and python3 (standard library only).
# Made with Debian's ffmpeg 5.1 and Python 3.11; other versions give other bytes, same cases.
set -euo pipefail

cd "$(dirname "$0")"
mkdir -p bad
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ff() { ffmpeg -hide_banner -v error -y -nostdin "$@"; }

# small valid bases (64x48, no face; the cases below break them)
ff -f lavfi -i testsrc2=s=64x48:d=1 -frames:v 1 "$work/a.png"
ff -i "$work/a.png" -q:v 3 "$work/a.jpg"
ff -i "$work/a.png" -c:v libwebp -lossless 1 "$work/a.webp"
ff -i "$work/a.png" -compression_algo deflate "$work/a.tif"
ff -i "$work/a.png" "$work/a.bmp"
# animated WebP (3 frames): Debian's ffmpeg 5.1 cannot decode it, so it is refused. (Animated GIF
# and APNG go through the video path since issue 11: see make_phone_fixtures.sh.)
ff -f lavfi -i testsrc2=s=64x48:r=3:d=1 -c:v libwebp_anim -loop 0 bad/animated.webp
# videos: 2 s, 160x120, 10 fps, a keyframe every 10 frames
ff -f lavfi -i testsrc2=s=160x120:r=10:d=2 -c:v libx264 -preset veryfast -g 10 "$work/v.mp4"
ff -f lavfi -i testsrc2=s=160x120:r=10:d=2 -c:v libx264 -preset veryfast -g 10 -movflags +faststart "$work/vfast.mp4"
ff -f lavfi -i testsrc2=s=160x120:r=10:d=2 -c:v libx264 -preset veryfast -g 20 "$work/v.mkv"
# audio only: a "video" file with zero video frames
ff -f lavfi -i sine=d=1 -c:a aac bad/audio_only_zero_video_frames.mp4

WORK="$work" python3 - <<'PY'
import os, random, struct, zlib

w = os.environ["WORK"]
rd = lambda n: open(os.path.join(w, n), "rb").read()
def out(name, data):
    with open(os.path.join("bad", name), "wb") as f:
        f.write(data)

rng = random.Random(5)  # deterministic garbage
garbage = bytes(rng.randrange(256) for _ in range(2048))
jpg, png, webp, tif, bmp = rd("a.jpg"), rd("a.png"), rd("a.webp"), rd("a.tif"), rd("a.bmp")
mp4, mp4fast, mkv = rd("v.mp4"), rd("vfast.mp4"), rd("v.mkv")

def chunk(ty, data):
    return struct.pack(">I", len(data)) + ty + data + struct.pack(">I", zlib.crc32(ty + data) & 0xFFFFFFFF)

# empty and garbage
out("empty.jpg", b"")
out("empty.png", b"")
out("empty.mp4", b"")
out("garbage.jpg", garbage)
out("text_named.png", b"This is a text file with an image extension.\n" * 8)
out("jpeg_signature_then_garbage.jpg", b"\xff\xd8\xff" + garbage)
out("png_signature_then_garbage.png", b"\x89PNG\r\n\x1a\n" + garbage)
out("ftyp_then_garbage.mp4", b"\0\0\0\x18ftypisom\0\0\0\0isomiso2" + garbage)

# truncated at several offsets
out("truncated_after_soi.jpg", jpg[:2])
out("truncated_in_headers.jpg", jpg[:120])
out("truncated_before_eoi.jpg", jpg[:-2])
out("truncated_signature.png", png[:5])
out("truncated_in_ihdr.png", png[:20])
idat = png.index(b"IDAT")
out("truncated_in_idat.png", png[: idat + 4 + (len(png) - idat) // 3])
out("truncated_riff_header.webp", webp[:16])
out("truncated_half.webp", webp[: len(webp) // 2])
out("truncated_half.tif", tif[: len(tif) // 2])
out("truncated_half.bmp", bmp[: len(bmp) // 2])
out("truncated_ftyp.mp4", mp4[:32])
out("truncated_no_moov.mp4", mp4[: len(mp4) // 2])          # moov is at the end: cut off
out("truncated_mid_gop.mp4", mp4fast[: len(mp4fast) * 3 // 5])  # moov first, data cut mid-GOP
out("truncated_mid_gop_matroska.mkv", mkv[: len(mkv) * 3 // 5])       # no index needed: cut mid-GOP

# a PNG whose IDAT CRC is wrong (bit flip in the compressed data)
b = bytearray(png)
b[idat + 10] ^= 0x01
out("bad_crc.png", bytes(b))

# decompression bombs: headers claiming huge sizes over a tiny body (refused by --max-pixels
# before any pixel buffer is allocated)
ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
out("dims_60000x60000.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))
sof = jpg.index(b"\xff\xc0")
b = bytearray(jpg)
b[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
out("dims_60000x60000.jpg", bytes(b))
# VP8L: 14-bit width-1 and height-1 after the 0x2f signature byte
vp8l = webp.index(b"VP8L")
b = bytearray(webp)
bits = (15999) | (15999 << 14) | (int.from_bytes(b[vp8l + 9:vp8l + 13], "little") & ~((1 << 28) - 1))
b[vp8l + 9:vp8l + 13] = bits.to_bytes(4, "little")
out("dims_16000x16000.webp", bytes(b))  # (16384 wide trips an image-webp 0.2.4 bug: reads as 0)
# BMP: width/height in the info header
b = bytearray(bmp)
b[18:26] = struct.pack("<ii", 60000, 60000)
out("dims_60000x60000.bmp", bytes(b))

# JPEG processes the decoder does not support, announced by the frame marker: 12-bit extended
# (SOF1, precision 12), arithmetic coding (SOF9), lossless (SOF3). Only the frame header is
# changed, so the entropy data no longer matches either: they must fail, never half-decode.
for name, marker, precision in [("jpeg_12bit_sof1.jpg", 0xC1, 12), ("jpeg_arithmetic_sof9.jpg", 0xC9, 8),
                                ("jpeg_lossless_sof3.jpg", 0xC3, 8)]:
    b = bytearray(jpg)
    b[sof + 1] = marker
    b[sof + 4] = precision
    out(name, bytes(b))

# a two-page TIFF (1x1 grey pages): unseen would anonymise page 1 only, so it refuses
def tiff_two_pages():
    def ifd(data_off, next_off):
        tags = [(256, 3, 1, 1), (257, 3, 1, 1), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
                (273, 4, 1, data_off), (277, 3, 1, 1), (278, 3, 1, 1), (279, 4, 1, 1)]
        body = struct.pack("<H", len(tags))
        for tag, ty, n, v in tags:
            body += struct.pack("<HHI", tag, ty, n) + (struct.pack("<HH", v, 0) if ty == 3 else struct.pack("<I", v))
        return body + struct.pack("<I", next_off)
    ifd_len = 2 + 9 * 12 + 4
    first, second = 8, 8 + ifd_len
    pixels = second + ifd_len
    return b"II*\0" + struct.pack("<I", first) + ifd(pixels, second) + ifd(pixels + 1, 0) + b"\x80\x40"
out("two_pages.tif", tiff_two_pages())

PY
ls -l bad
