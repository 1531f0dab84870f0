#!/usr/bin/env bash
# Regenerates the derived test fixtures under testdata/good/ and testdata/bad/ from the two real
# photos testdata/astronaut.png (public domain) and testdata/camera.png (CC0). See README.md.
#
# Needs: python3 with Pillow (set PYTHON=/path/to/python if the default python3 lacks it, e.g.
#        `python3 -m venv /tmp/fx && /tmp/fx/bin/pip install Pillow && PYTHON=/tmp/fx/bin/python`)
#        and exiftool (Debian: libimage-exiftool-perl).
# The committed files were made with Python 3.11.7 (zlib 1.2.13), Pillow 13.0.0 (libjpeg-turbo
# 3.2.0) and exiftool 12.57, and with those the output is byte-for-byte reproducible; other
# versions give slightly different bytes but the same content. The script checks its own output
# (orientation round trip, metadata present) and fails if anything is off.
set -euo pipefail

cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
CANARY=CANARY-7f3a

command -v exiftool >/dev/null || { echo "make_fixtures.sh: exiftool not found" >&2; exit 1; }
"$PYTHON" -c 'import PIL' 2>/dev/null || { echo "make_fixtures.sh: $PYTHON has no Pillow (set PYTHON=)" >&2; exit 1; }

mkdir -p good bad
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- pixels: Pillow ----------------------------------------------------------------------------
WORK="$work" CANARY="$CANARY" "$PYTHON" - <<'PY'
import os, struct, zlib
from PIL import Image

work = os.environ["WORK"]
canary = os.environ["CANARY"]
astro = Image.open("astronaut.png").convert("RGB")
assert astro.size == (512, 512)

def save_jpeg(img, path, **kw):
    # fixed settings, no EXIF/ICC copied from anywhere
    img.save(path, "JPEG", quality=90, subsampling=2, optimize=False, progressive=False, **kw)

# plain JPEG of the whole astronaut photo
save_jpeg(astro, "good/astronaut.jpg")

# rotated copies: stored pixels turned so that the EXIF Orientation tag (written below with
# exiftool) turns them back. Non-square (400x300) so a width/height mix-up shows.
upright = astro.crop((56, 0, 456, 300))
save_jpeg(upright, os.path.join(work, "upright.jpg"))
# Orientation 3: rotate 180 to display -> store rotated 180
save_jpeg(upright.transpose(Image.Transpose.ROTATE_180), "good/exif_orient_3.jpg")
# Orientation 6: rotate 90 CW to display -> store rotated 90 CCW (PIL ROTATE_90 is CCW)
save_jpeg(upright.transpose(Image.Transpose.ROTATE_90), "good/exif_orient_6.jpg")
# Orientation 8: rotate 90 CCW (270 CW) to display -> store rotated 90 CW
save_jpeg(upright.transpose(Image.Transpose.ROTATE_270), "good/exif_orient_8.jpg")

# grayscale JPEG (one component)
save_jpeg(astro.convert("L"), "good/gray.jpg")

# CMYK JPEG (four components; Pillow writes Adobe-style inverted CMYK with an APP14 marker)
save_jpeg(astro.convert("CMYK"), "good/cmyk.jpg")

# RGBA PNG: 256x256 crop around the face, alpha ramps from 96 (left) to 255 (right), so the face
# itself is semi-transparent.
crop = astro.crop((100, 0, 356, 256))
alpha = Image.new("L", crop.size)
alpha.putdata([96 + x * 159 // 255 for y in range(256) for x in range(256)])
rgba = crop.copy()
rgba.putalpha(alpha)
rgba.save("good/rgba.png", optimize=False, compress_level=9)

# 16-bit RGB PNG, same crop. Pillow cannot write 16-bit RGB, so the PNG is written by hand.
# Each sample is v8*256 + ((x ^ y) & 0x7f): the high byte is the photo, the low byte a pattern,
# so a decoder that keeps the low byte instead of scaling sees noise, not a face.
def png_chunk(ty, data):
    return struct.pack(">I", len(data)) + ty + data + struct.pack(">I", zlib.crc32(ty + data) & 0xFFFFFFFF)

w, h = crop.size
px = crop.load()
rows = bytearray()
for y in range(h):
    rows.append(0)  # filter: none
    for x in range(w):
        lo = (x ^ y) & 0x7F
        for v in px[x, y]:
            rows += struct.pack(">H", v * 256 + lo)
ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
with open("good/rgb16.png", "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
            + png_chunk(b"IEND", b""))

# 1x1 RGB PNG
Image.new("RGB", (1, 1), (200, 100, 50)).save("good/1x1.png")

# a picture without faces: a smooth 160x120 gradient
g = Image.new("RGB", (160, 120))
g.putdata([(x * 255 // 159, y * 255 // 119, 128) for y in range(120) for x in range(160)])
g.save("good/no_faces.png", optimize=False, compress_level=9)

# the metadata-laden JPEG: base image, an EXIF thumbnail of the face (itself carrying a comment
# with the canary), and an ICC profile whose text tags carry the canary (UTF-16BE in 'mluc').
save_jpeg(astro, os.path.join(work, "dirty_base.jpg"))
astro.crop((150, 30, 310, 150)).save(os.path.join(work, "thumb.jpg"), "JPEG", quality=80,
                                      comment=(canary + "-thumbnail").encode())

def icc_profile(text):
    def mluc(s):
        u = s.encode("utf-16-be")
        return b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(u), 28) + u
    def pad4(b):
        return b + b"\0" * (-len(b) % 4)
    tags = [(b"desc", pad4(mluc(text + "-icc-desc"))), (b"cprt", pad4(mluc(text + "-icc-copyright")))]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    table = struct.pack(">I", len(tags))
    data = b""
    for sig, body in tags:
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = 128 + table_len + len(data)
    header = (struct.pack(">I", size) + b"none" + struct.pack(">I", 0x04300000) + b"mntr" + b"RGB " + b"XYZ "
              + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 4 + struct.pack(">I", 0)
              + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0)
              + struct.pack(">iii", 63190, 65536, 54061)  # D50 illuminant
              + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128, len(header)
    return header + table + data

with open(os.path.join(work, "canary.icc"), "wb") as f:
    f.write(icc_profile(canary))
PY

# ---- EXIF orientation tags: exiftool -------------------------------------------------------------
exiftool -q -overwrite_original -n -IFD0:Orientation=3 good/exif_orient_3.jpg
exiftool -q -overwrite_original -n -IFD0:Orientation=6 good/exif_orient_6.jpg
exiftool -q -overwrite_original -n -IFD0:Orientation=8 good/exif_orient_8.jpg

# ---- the metadata-laden JPEG: exiftool -----------------------------------------------------------
cp "$work/dirty_base.jpg" good/metadata_canary.jpg
exiftool -q -overwrite_original \
  "-IFD0:Make=$CANARY-make" "-IFD0:Model=$CANARY-model" "-ExifIFD:SerialNumber=$CANARY-serial" \
  "-IFD0:Artist=$CANARY-artist" "-IFD0:Copyright=$CANARY-copyright" \
  "-IFD0:ImageDescription=$CANARY-description" "-IFD0:Software=$CANARY-software" \
  "-ExifIFD:UserComment=$CANARY-usercomment" "-ExifIFD:LensModel=$CANARY-lens" \
  "-ExifIFD:OwnerName=$CANARY-owner" "-ExifIFD:DateTimeOriginal=2021:06:01 12:34:56" \
  "-IFD0:XPAuthor=$CANARY-xpauthor" "-IFD0:XPComment=$CANARY-xpcomment" \
  -GPSLatitude=51.500729 -GPSLatitudeRef=N -GPSLongitude=0.124625 -GPSLongitudeRef=W \
  -GPSAltitude=21 -GPSAltitudeRef=0 "-GPSProcessingMethod=$CANARY-gps-method" \
  "-GPSAreaInformation=$CANARY-gps-area" "-GPSDateStamp=2021:06:01" "-GPSTimeStamp=12:34:56" \
  "-ThumbnailImage<=$work/thumb.jpg" \
  "-ICC_Profile<=$work/canary.icc" \
  "-XMP-dc:Creator=$CANARY-xmp-creator" "-XMP-dc:Description=$CANARY-xmp-description" \
  "-XMP-dc:Rights=$CANARY-xmp-rights" "-XMP-photoshop:City=$CANARY-xmp-city" \
  "-XMP-exif:GPSLatitude=51.500729" "-XMP-exif:GPSLongitude=-0.124625" \
  "-IPTC:By-line=$CANARY-iptc-byline" "-IPTC:City=$CANARY-iptc-city" "-IPTC:Keywords=$CANARY-iptc-keyword" \
  "-IPTC:Caption-Abstract=$CANARY-iptc-caption" \
  "-Comment=$CANARY-comment" \
  good/metadata_canary.jpg
# bytes after EOI (as phones append motion-photo or vendor data): ASCII and UTF-16LE
CANARY="$CANARY" "$PYTHON" -c '
import os
c = os.environ["CANARY"]
with open("good/metadata_canary.jpg", "ab") as f:
    f.write(("TRAILER " + c + "-trailer ").encode() + (c + "-trailer-utf16").encode("utf-16-le"))
'

# ---- a broken file: the first 40% of a valid JPEG ------------------------------------------------
"$PYTHON" -c '
b = open("good/astronaut.jpg", "rb").read()
open("bad/truncated.jpg", "wb").write(b[: len(b) * 2 // 5])
'

# ---- self-checks ---------------------------------------------------------------------------------
WORK="$work" CANARY="$CANARY" "$PYTHON" - <<'PY'
import os
from PIL import Image, ImageChops, ImageOps, ImageStat

work = os.environ["WORK"]
canary = os.environ["CANARY"].encode()
upright = Image.open(os.path.join(work, "upright.jpg")).convert("RGB")
for n in (3, 6, 8):
    im = Image.open(f"good/exif_orient_{n}.jpg")
    assert im.getexif().get(0x0112) == n, (n, im.getexif().get(0x0112))
    assert im.size == ((400, 300) if n == 3 else (300, 400)), (n, im.size)
    shown = ImageOps.exif_transpose(im).convert("RGB")
    diff = sum(ImageStat.Stat(ImageChops.difference(shown, upright)).mean) / 3
    assert diff < 3.0, (n, diff)

b = open("good/metadata_canary.jpg", "rb").read()
for form in (canary, canary.decode().encode("utf-16-le"), canary.decode().encode("utf-16-be")):
    assert form in b, form
assert Image.open("good/cmyk.jpg").mode == "CMYK"
assert Image.open("good/gray.jpg").mode == "L"
assert Image.open("good/rgba.png").mode == "RGBA"
with open("good/rgb16.png", "rb") as f:
    head = f.read(33)
assert head[12:16] == b"IHDR" and head[24] == 16 and head[25] == 2, head  # 16-bit RGB
PY
for tag in GPSLatitude ThumbnailImage XMP-dc:Creator IPTC:By-line Comment SerialNumber ICC_Profile:ProfileDescription; do
  exiftool -s3 "-$tag" good/metadata_canary.jpg | grep -q . || { echo "make_fixtures.sh: $tag missing" >&2; exit 1; }
done
ls -l good bad
