#!/usr/bin/env python3
"""Make the text / people fixtures and the text evaluation set.

Writes, relative to the repository root (the parent of this script's folder):

  testdata/good/plate_badge.png   512x512 PNG: astronaut.png with a rendered European licence
                                  plate (lower left) and a name badge (on the chest, over the
                                  real name tag), both clear of the face (181, 58, 270, 178)
  testdata/good/plate_badge.json  {"plate": [x1, y1, x2, y2], "badge": [x1, y1, x2, y2],
                                  "plate_ink": [[x1, y1, x2, y2], ...], "badge_ink": [...]}:
                                  the outer rectangles and the ink boxes of their text lines,
                                  pixels, x2/y2 exclusive
  testdata/good/moving_plate.mp4  320x240, 15 fps, 30 frames, H.264 (libx264 yuv420p crf 18),
                                  no audio: a plate "KA 7781" moving left to right and a
                                  scaled crop of the astronaut (a "person") moving right to left
  testdata/good/moving_plate.json {"fps": 15, "frames": 30, "plate": [[x1, y1, x2, y2] per
                                  frame], "person": [[...] per frame], "plate_ink": [[ink box
                                  of each text line] per frame]}
  bench/text_set/NNN.jpg          40 images 640x480 (JPEG q90): backgrounds (crops of
                                  astronaut.png / camera.png, synthetic textures) with 1-4
                                  rendered text objects each (plates, badges, signs, placards
                                  in Latin, Persian, Arabic, Chinese and Cyrillic script)
  bench/text_set/boxes.json       the ground truth of the set (format in bench/text_set/README.md)

Only the two photographs of testdata/ (public domain / CC0) and synthetic drawing are used.
Everything is deterministic (fixed seeds, no clock); with the same Python, Pillow and ffmpeg
versions a re-run reproduces the files byte for byte.

Needs: Python 3 with Pillow built with raqm (the PyPI wheels are; used for Arabic / Persian
shaping), the DejaVu fonts (Debian: fonts-dejavu-core), WenQuanYi Micro Hei (Debian:
fonts-wqy-microhei, for Chinese) and ffmpeg with libx264 on PATH:

    apt-get install -y fonts-dejavu-core fonts-wqy-microhei libfribidi0 ffmpeg
    python3 -m venv /tmp/fx && /tmp/fx/bin/pip install Pillow
    /tmp/fx/bin/python testdata/make_text_fixtures.py

Boxes are [x1, y1, x2, y2] in pixels with x2, y2 exclusive (x2 - x1 is the width). For rotated
objects the box is the axis-aligned box of the rotated object (its pixels with alpha >= 50 %).
"text_height" is the ink height in pixels of the object's tallest text line, measured on the
unrotated rendering (Pillow's FreeType bbox of the line: cap/ascender top to baseline/descender
bottom, Arabic dots included).
"ink" (and "plate_ink", "badge_ink") lists one box per drawn piece of text (a line, or a separately
drawn field of a plate: the EU band letter, the region number, "RUS" / "ایران"): the tight box of
that piece's glyph pixels as drawn. Each piece is drawn a second time, white on black, into a mask of
its own, which goes through the same rotation, crop and placement as the object; the box is that of
the mask's nonzero pixels (the colour-only blur is not applied to the masks).
"""

import json
import math
import random
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, features

import PIL

HERE = Path(__file__).resolve().parent  # testdata/
ROOT = HERE.parent
GOOD = HERE / "good"
TEXT_SET = ROOT / "bench" / "text_set"

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
SANS = DEJAVU / "DejaVuSans.ttf"
SANS_BOLD = DEJAVU / "DejaVuSans-Bold.ttf"
COND_BOLD = DEJAVU / "DejaVuSansCondensed-Bold.ttf"
MONO_BOLD = DEJAVU / "DejaVuSansMono-Bold.ttf"
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

RAQM = features.check("raqm")
LRM = "\u200e"  # left-to-right mark
BIDI_MARKS = {LRM}

# Text that is already in astronaut.png (source coordinates, x2/y2 exclusive): the mission patch
# with the crew names, the name tag on the chest, and a tiny "USA" on the model shuttle's wing.
# Not labelled; the eval set lists them as "ignore" regions and places no object on them.
ASTRONAUT_TEXT = [(132, 347, 209, 423), (277, 338, 331, 378), (419, 209, 438, 221)]


# ---------------------------------------------------------------------------------------------
# fonts and text


_font_cache = {}


def font(path, size):
    key = (str(path), size)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(str(path), size)
    return _font_cache[key]


def _notdef_mask(f):
    return bytes(f.getmask("\ue000"))


def check_coverage(path, text):
    """Fail if a character of text would be drawn as the font's missing-glyph box."""
    f = font(path, 40)
    nd = _notdef_mask(f)
    missing = [c for c in sorted(set(text)) if not c.isspace() and c not in BIDI_MARKS
               and bytes(f.getmask(c)) == nd]
    if missing:
        sys.exit(f"font {path} lacks {missing!r} (needed for {text!r})")


def bbox(f, text, direction=None):
    if direction is not None and RAQM:
        return f.getbbox(text, direction=direction)
    return f.getbbox(text)


def ink_height(f, text, direction=None):
    l, t, r, b = bbox(f, text, direction)
    return b - t


def ink_width(f, text, direction=None):
    l, t, r, b = bbox(f, text, direction)
    return r - l


def fit_font(path, text, target_h, direction=None):
    """The font size whose ink height for text is closest to target_h pixels."""
    check_coverage(path, text)
    h100 = ink_height(font(path, 100), text, direction)
    est = max(4, round(100 * target_h / h100))
    best = None
    for s in range(max(4, est - 3), est + 4):
        f = font(path, s)
        err = abs(ink_height(f, text, direction) - target_h)
        if best is None or err < best[0]:
            best = (err, f)
    return best[1]


class Ink:
    """The ink of each piece of text drawn on an image of the given size: draw_centered draws the
    piece again, white on black, into a mask of its own (same position, font and layout)."""

    def __init__(self, size):
        self.size = tuple(size)
        self.masks = []

    def add(self, xy, text, f, kw):
        m = Image.new("L", self.size, 0)
        ImageDraw.Draw(m).text(xy, text, font=f, fill=255, **kw)
        self.masks.append(m)

    def boxes(self, dx=0, dy=0, clip=None):
        """The masks' boxes of nonzero pixels, shifted by (dx, dy) and clipped to clip = (w, h)."""
        out = []
        for m in self.masks:
            b = m.getbbox()
            assert b is not None, "a text piece with no ink"
            b = [b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy]
            if clip is not None:
                b = [max(0, b[0]), max(0, b[1]), min(clip[0], b[2]), min(clip[1], b[3])]
                if b[0] >= b[2] or b[1] >= b[3]:
                    continue
            out.append(b)
        return out


def draw_centered(d, cx, cy, text, f, fill, direction=None, ink=None):
    """Draw text with its ink box centred on (cx, cy); with ink (an Ink), record its pixels."""
    l, t, r, b = bbox(f, text, direction)
    kw = {"direction": direction} if (direction is not None and RAQM) else {}
    xy = (round(cx - (l + r) / 2), round(cy - (t + b) / 2))
    d.text(xy, text, font=f, fill=fill, **kw)
    if ink is not None:
        ink.add(xy, text, f, kw)


def new_sprite(w, h, edge):
    """A transparent RGBA canvas whose transparent pixels carry the edge colour (no dark fringe
    when the sprite is blurred or rotated)."""
    return Image.new("RGBA", (w, h), tuple(edge) + (0,))


# ---------------------------------------------------------------------------------------------
# objects: each builder returns (RGBA sprite, text_height, text, Ink of its text pieces)

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
PERSIAN_PLATE_LETTERS = "بجدسصطقلمنوهی"
ARABIC_PLATE_LETTERS = "ابحدرسصطعقكلمنهوى"
CYR_PLATE_LETTERS = "АВЕКМНОРСТУХ"
CN_PROVINCES = "京沪粤苏浙川鲁豫津渝"
LATIN_UP = "ABCDEFGHJKLMNPRSTUVWXYZ"


def digits(rng, n, table="0123456789"):
    return "".join(rng.choice(table) for _ in range(n))


def plate_text(script, rng):
    if script == "latin":
        style = rng.randrange(4)
        if style == 0:  # German
            return rng.choice(["M", "B", "HH", "K", "S", "F"]) + " " + \
                "".join(rng.choice(LATIN_UP) for _ in range(2)) + " " + digits(rng, rng.choice([3, 4]))
        if style == 1:  # French
            return "".join(rng.choice(LATIN_UP) for _ in range(2)) + "-" + digits(rng, 3) + "-" + \
                "".join(rng.choice(LATIN_UP) for _ in range(2))
        if style == 2:  # Dutch
            return digits(rng, 2) + "-" + "".join(rng.choice(LATIN_UP) for _ in range(3)) + "-" + digits(rng, 1)
        return "".join(rng.choice(LATIN_UP) for _ in range(2)) + digits(rng, 2) + " " + \
            "".join(rng.choice(LATIN_UP) for _ in range(3))  # UK
    if script == "cyrillic":
        return rng.choice(CYR_PLATE_LETTERS) + " " + digits(rng, 3) + " " + \
            rng.choice(CYR_PLATE_LETTERS) + rng.choice(CYR_PLATE_LETTERS)
    if script == "persian":
        return digits(rng, 2, PERSIAN_DIGITS) + " " + rng.choice(PERSIAN_PLATE_LETTERS) + " " + \
            digits(rng, 3, PERSIAN_DIGITS)
    if script == "arabic":
        return digits(rng, 4, ARABIC_DIGITS) + " " + " ".join(rng.sample(ARABIC_PLATE_LETTERS, 3))
    if script == "chinese":
        return rng.choice(CN_PROVINCES) + rng.choice(LATIN_UP) + "·" + \
            "".join(rng.choice("0123456789" + LATIN_UP[:8]) for _ in range(5))
    raise ValueError(script)


def make_plate(script, th, rng, text=None):
    """Licence plate: white (or yellow / blue) rectangle, dark border, dark text."""
    text = text or plate_text(script, rng)
    direction = None
    path = COND_BOLD
    bg, fg, border = (248, 248, 244), (18, 18, 18), (18, 18, 18)
    strip_col = (0, 51, 153)  # EU blue band
    strip = True
    region = None  # (top small text, bottom text) in a separate field on the right
    if script == "latin":
        if rng.random() < 0.3:
            bg = (250, 206, 30)  # yellow (NL / UK rear)
    elif script == "cyrillic":
        strip = False
        region = ("RUS", digits(rng, 2))
    elif script == "persian":
        # Iranian plates read left to right: ۱۲ ب ۳۴۵. Persian digits are European numbers
        # to the bidi algorithm, and after an Arabic letter they turn into Arabic numbers, so
        # "ب ۳۴۵" would be reversed even in a left-to-right paragraph; a left-to-right mark
        # after the letter keeps the order.
        direction = "ltr"
        text = text.replace(" ", LRM + " ")
        path = SANS_BOLD
        region = ("ایران", digits(rng, 2, PERSIAN_DIGITS))
    elif script == "arabic":
        path = SANS_BOLD
        strip = False
    elif script == "chinese":
        path = WQY
        bg, fg, border = (22, 64, 170), (250, 250, 250), (250, 250, 250)
        strip = False
    f = fit_font(path, text, th, direction)
    th_real = ink_height(f, text, direction)
    tw = ink_width(f, text, direction)
    H = max(th_real + 4, round(th_real / 0.6))
    pad = max(2, round(H * 0.22))
    bw = max(1, round(H / 18))
    strip_w = round(H * 0.42) if strip else 0
    region_w = 0
    if region:
        rf_top = fit_font(path if script != "persian" else SANS, region[0], max(3, round(th_real * 0.32)))
        rf_bot = fit_font(path, region[1], max(4, round(th_real * 0.72)), direction)
        region_w = max(ink_width(rf_top, region[0]), ink_width(rf_bot, region[1], direction)) + 2 * pad
    W = bw + strip_w + pad + tw + pad + region_w + bw
    im = new_sprite(W, H, border)
    ink = Ink(im.size)
    d = ImageDraw.Draw(im)
    rad = max(1, H // 9)
    d.rounded_rectangle([0, 0, W - 1, H - 1], radius=rad, fill=border + (255,))
    d.rounded_rectangle([bw, bw, W - 1 - bw, H - 1 - bw], radius=max(0, rad - bw), fill=bg + (255,))
    x = bw
    if strip:
        d.rectangle([bw, bw, bw + strip_w - 1, H - 1 - bw], fill=strip_col + (255,))
        if script == "persian":  # green / white / red bars of the Iranian band
            third = (H - 2 * bw) // 3
            d.rectangle([bw, bw, bw + strip_w - 1, bw + third - 1], fill=(35, 150, 60, 255))
            d.rectangle([bw, H - bw - third, bw + strip_w - 1, H - 1 - bw], fill=(210, 30, 40, 255))
            d.rectangle([bw, bw + third, bw + strip_w - 1, H - bw - third - 1], fill=(245, 245, 245, 255))
        elif H >= 18:  # country letter in the EU band
            cf = fit_font(SANS_BOLD, "D", max(4, round(H * 0.28)))
            draw_centered(d, bw + strip_w / 2, H * 0.7, rng.choice("DFL"), cf, (250, 250, 250), ink=ink)
    x += strip_w
    draw_centered(d, x + pad + tw / 2, H / 2, text, f, fg, direction, ink=ink)
    if region:
        rx = W - bw - region_w
        d.line([rx, bw, rx, H - 1 - bw], fill=border, width=bw)
        if script == "persian":  # "ایران" above the region number
            draw_centered(d, rx + region_w / 2, H * 0.24, region[0], rf_top, fg, ink=ink)
            draw_centered(d, rx + region_w / 2, H * 0.62, region[1], rf_bot, fg, direction, ink=ink)
        else:  # region number above "RUS"
            draw_centered(d, rx + region_w / 2, H * 0.42, region[1], rf_bot, fg, direction, ink=ink)
            draw_centered(d, rx + region_w / 2, H * 0.8, region[0], rf_top, fg, ink=ink)
        full = text + " " + region[1]
    else:
        full = text
    return im, th_real, full.replace(LRM, ""), ink


BADGE_NAMES = {
    "latin": [("Anna Schmidt", "Visitor"), ("John Miller", "Security"), ("Lucía Gómez", "Staff"),
              ("Pierre Dubois", "Presse"), ("Maria Rossi", None), ("Jan Kowalski", "Guest")],
    "arabic": [("أحمد خالد", "زائر"), ("فاطمة علي", None), ("محمد حسن", "أمن"), ("ليلى يوسف", "ضيف")],
    "persian": [("مریم رضایی", "مهمان"), ("علی محمدی", None), ("زهرا کریمی", "کارمند"),
                ("رضا حسینی", "نگهبان")],
    "chinese": [("王小明", "访客"), ("李华", None), ("张伟", "工作人员"), ("陈静", "嘉宾")],
    "cyrillic": [("Иван Петров", "Гость"), ("Анна Смирнова", None), ("Олег Кузнецов", "Охрана"),
                 ("Ольга Попова", "Персонал")],
}


def script_fonts(script):
    """(bold font, regular font) for a script."""
    if script == "chinese":
        return WQY, WQY
    return SANS_BOLD, SANS


def make_badge(script, th, rng, lines=None):
    """Name badge: light card, thin grey border, optional coloured band, 1-2 lines of text."""
    if lines is None:
        name, role = rng.choice(BADGE_NAMES[script])
        lines = [name] + ([role] if role and rng.random() < 0.7 else [])
    fb, fr = script_fonts(script)
    fonts = [fit_font(fb, lines[0], th)]
    if len(lines) > 1:
        fonts.append(fit_font(fr, lines[1], max(5, round(th * 0.7))))
    hs = [ink_height(f, t) for f, t in zip(fonts, lines)]
    ws = [ink_width(f, t) for f, t in zip(fonts, lines)]
    gap = max(2, round(th * 0.45))
    pad = max(3, round(th * 0.6))
    band = rng.random() < 0.5
    band_h = max(2, round(th * 0.5)) if band else 0
    W = max(ws) + 2 * pad
    H = band_h + pad + sum(hs) + gap * (len(lines) - 1) + pad
    bg = rng.choice([(246, 246, 242), (236, 238, 240), (250, 244, 214), (226, 236, 248)])
    edge = (150, 150, 150)
    im = new_sprite(W, H, edge)
    ink = Ink(im.size)
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([0, 0, W - 1, H - 1], radius=max(1, th // 4), fill=edge + (255,))
    d.rounded_rectangle([1, 1, W - 2, H - 2], radius=max(0, th // 4 - 1), fill=bg + (255,))
    if band:
        d.rectangle([1, 1, W - 2, band_h], fill=rng.choice([(200, 30, 40), (20, 90, 170), (30, 130, 70)]) + (255,))
    y = band_h + pad
    for f, t, h in zip(fonts, lines, hs):
        draw_centered(d, W / 2, y + h / 2, t, f, (25, 25, 30), ink=ink)
        y += h + gap
    return im, max(hs), "\n".join(lines), ink


SIGN_TEXTS = {
    "latin": ["Main St", "Hauptstraße", "Exit 24", "Centre Ville", "Rue de la Paix", "Station"],
    "arabic": ["شارع الملك فهد", "مخرج ٢٤", "وسط المدينة", "المطار"],
    "persian": ["خیابان آزادی", "خروجی", "میدان انقلاب", "فرودگاه"],
    "chinese": ["人民路", "出口", "火车站", "中山大道"],
    "cyrillic": ["ул. Ленина", "Выход", "Центр", "пр. Мира"],
}


def make_sign(script, th, rng, text=None):
    """Street sign: white text on blue or green, white inner frame."""
    text = text or rng.choice(SIGN_TEXTS[script])
    fb, _ = script_fonts(script)
    f = fit_font(fb, text, th)
    th_real, tw = ink_height(f, text), ink_width(f, text)
    pad = max(3, round(th_real * 0.55))
    fr = max(1, round(th_real / 12))
    W, H = tw + 2 * pad + 2 * fr, th_real + 2 * pad + 2 * fr
    bg = rng.choice([(16, 72, 160), (0, 112, 64)])
    im = new_sprite(W, H, bg)
    ink = Ink(im.size)
    d = ImageDraw.Draw(im)
    rad = max(1, round(H * 0.12))
    d.rounded_rectangle([0, 0, W - 1, H - 1], radius=rad, fill=bg + (255,))
    inset = max(1, fr)
    d.rounded_rectangle([inset, inset, W - 1 - inset, H - 1 - inset], radius=max(1, rad - inset),
                        outline=(245, 245, 245), width=fr)
    draw_centered(d, W / 2, H / 2, text, f, (245, 245, 245), ink=ink)
    return im, th_real, text, ink


PLACARD_TEXTS = {
    "latin": [["OPEN"], ["SALE", "50% OFF"], ["THANK YOU"], ["WELCOME"], ["FREE", "HUGS"]],
    "arabic": [["مرحبا"], ["مفتوح"], ["تخفيضات"], ["أهلا وسهلا"]],
    "persian": [["خوش آمدید"], ["باز است"], ["حراج"], ["تخفیف ویژه"]],
    "chinese": [["欢迎"], ["营业中"], ["大减价"], ["谢谢"]],
    "cyrillic": [["ОТКРЫТО"], ["СКИДКИ"], ["ДОБРО", "ПОЖАЛОВАТЬ"], ["МИР"]],
}


def make_placard(script, th, rng, lines=None):
    """Placard: large black text on white card or brown cardboard, 1-2 lines."""
    lines = lines or rng.choice(PLACARD_TEXTS[script])
    fb, _ = script_fonts(script)
    fonts = [fit_font(fb, t, th) for t in lines]
    hs = [ink_height(f, t) for f, t in zip(fonts, lines)]
    ws = [ink_width(f, t) for f, t in zip(fonts, lines)]
    gap = round(th * 0.4)
    padx, pady = round(th * 0.7), round(th * 0.6)
    W = max(ws) + 2 * padx
    H = sum(hs) + gap * (len(lines) - 1) + 2 * pady
    bg = rng.choice([(240, 238, 230), (196, 160, 112), (208, 176, 128)])
    edge = tuple(max(0, c - 30) for c in bg)
    im = new_sprite(W, H, edge)
    ink = Ink(im.size)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, W - 1, H - 1], fill=edge + (255,))
    d.rectangle([1, 1, W - 2, H - 2], fill=bg + (255,))
    y = pady
    for f, t, h in zip(fonts, lines, hs):
        draw_centered(d, W / 2, y + h / 2, t, f, (12, 12, 12), ink=ink)
        y += h + gap
    return im, max(hs), "\n".join(lines), ink


BUILDERS = {"plate": make_plate, "badge": make_badge, "sign": make_sign, "placard": make_placard}


def finish_sprite(im, angle=0.0, blur=0.0, light=1.0, ink=None):
    """Lighting, blur (colour only) and rotation. Returns (sprite cropped to its pixels, box of
    the object inside the sprite (alpha >= 128), x2/y2 exclusive). The masks of ink (an Ink of
    the sprite) are rotated and cropped the same way, in place (no lighting, no blur)."""
    if light != 1.0:
        a = im.getchannel("A")
        im = ImageEnhance.Brightness(im.convert("RGB")).enhance(light).convert("RGBA")
        im.putalpha(a)
    if blur > 0:
        a = im.getchannel("A")
        im = im.convert("RGB").filter(ImageFilter.GaussianBlur(blur)).convert("RGBA")
        im.putalpha(a)
    if angle:
        im = im.rotate(angle, resample=Image.BICUBIC, expand=True)
    full = im.getchannel("A").getbbox()
    if ink is not None:
        masks = [m.rotate(angle, resample=Image.BICUBIC, expand=True) if angle else m for m in ink.masks]
        assert all(m.size == im.size for m in masks)
        ink.masks = [m.crop(full) for m in masks]
        ink.size = (full[2] - full[0], full[3] - full[1])
    im = im.crop(full)
    box = im.getchannel("A").point(lambda v: 255 if v >= 128 else 0).getbbox()
    return im, box


# ---------------------------------------------------------------------------------------------
# 1. plate_badge.png


def make_plate_badge():
    src = Image.open(HERE / "astronaut.png").convert("RGB")
    # Plate: German style, 150 x 34: black border, EU band with "D", black text.
    plate = Image.new("RGB", (150, 34), (18, 18, 18))
    plate_ink = Ink(plate.size)
    d = ImageDraw.Draw(plate)
    d.rectangle([2, 2, 147, 31], fill=(248, 248, 244))
    d.rectangle([2, 2, 17, 31], fill=(0, 51, 153))
    draw_centered(d, 10, 24, "D", fit_font(SANS_BOLD, "D", 7), (250, 250, 250), ink=plate_ink)
    text, th = "B-UN 4521", 21
    f = fit_font(COND_BOLD, text, th)
    while ink_width(f, text) > 122:
        th -= 1
        f = fit_font(COND_BOLD, text, th)
    draw_centered(d, 83, 17, text, f, (18, 18, 18), ink=plate_ink)
    plate_xy = (14, 448)
    src.paste(plate, plate_xy)
    plate_box = [plate_xy[0], plate_xy[1], plate_xy[0] + 150, plate_xy[1] + 34]
    # Badge: over the real name tag on the chest (278..330 x 339..377), 110 x 42.
    badge_xy = (274, 336)
    badge = Image.new("RGB", (110, 42), (150, 150, 150))
    badge_ink = Ink(badge.size)
    d = ImageDraw.Draw(badge)
    d.rectangle([1, 1, 108, 40], fill=(246, 246, 242))
    d.rectangle([1, 1, 108, 6], fill=(20, 90, 170))
    f1 = fit_font(SANS_BOLD, "Eileen", 11)
    f2 = fit_font(SANS_BOLD, "Collins", 11)
    draw_centered(d, 55, 15, "Eileen", f1, (25, 25, 30), ink=badge_ink)
    draw_centered(d, 55, 31, "Collins", f2, (25, 25, 30), ink=badge_ink)
    src.paste(badge, badge_xy)
    badge_box = [badge_xy[0], badge_xy[1], badge_xy[0] + 110, badge_xy[1] + 42]
    plate_ink = plate_ink.boxes(*plate_xy, clip=src.size)
    badge_ink = badge_ink.boxes(*badge_xy, clip=src.size)
    face = (181, 58, 270, 178)
    for b in (plate_box, badge_box):
        assert b[2] <= face[0] or b[0] >= face[2] or b[3] <= face[1] or b[1] >= face[3], b
    for b, inks in ((plate_box, plate_ink), (badge_box, badge_ink)):
        assert len(inks) == 2 and all(inside(i, b) for i in inks), (b, inks)
    out = GOOD / "plate_badge.png"
    src.save(out)
    with open(GOOD / "plate_badge.json", "w") as fh:
        json.dump({"plate": plate_box, "badge": badge_box, "plate_ink": plate_ink, "badge_ink": badge_ink}, fh)
        fh.write("\n")
    print(f"wrote {out.relative_to(ROOT)} plate={plate_box} badge={badge_box} "
          f"plate_ink={plate_ink} badge_ink={badge_ink}")
    print(f"wrote {(GOOD / 'plate_badge.json').relative_to(ROOT)}")


# ---------------------------------------------------------------------------------------------
# 2. moving_plate.mp4


def video_background(w, h):
    """Static street-like background: a wall with soft texture over grey asphalt."""
    rng = random.Random(2)
    wall = Image.new("RGB", (w, h))
    px = wall.load()
    for y in range(h):
        for x in range(w):
            if y < 192:
                base = (186 - y // 8, 176 - y // 8, 160 - y // 10)
            else:
                base = (92, 92, 96)
            n = rng.randint(-10, 10)
            px[x, y] = tuple(max(0, min(255, c + n)) for c in base)
    wall = wall.filter(ImageFilter.GaussianBlur(1.2))
    d = ImageDraw.Draw(wall)
    d.rectangle([0, 190, w - 1, 193], fill=(120, 116, 110))  # kerb
    for x in range(0, w, 40):  # lane marking
        d.rectangle([x + 6, 232, x + 26, 235], fill=(225, 225, 215))
    return wall


def make_moving_plate():
    W, H, FPS, N = 320, 240, 15, 30
    bg = video_background(W, H)
    plate = Image.new("RGB", (90, 24), (18, 18, 18))
    ink = Ink(plate.size)
    d = ImageDraw.Draw(plate)
    d.rectangle([2, 2, 87, 21], fill=(248, 248, 244))
    f = fit_font(COND_BOLD, "KA 7781", 14)
    draw_centered(d, 45, 12, "KA 7781", f, (18, 18, 18), ink=ink)
    astro = Image.open(HERE / "astronaut.png").convert("RGB").crop((0, 20, 370, 512))
    ph = 110
    pw = round(370 * ph / 492)
    person = astro.resize((pw, ph), Image.LANCZOS)
    plates, persons, plate_inks = [], [], []
    frames = bytearray()
    for i in range(N):
        fr = bg.copy()
        px, py = 229 - 7 * i, 80
        fr.paste(person, (px, py))
        persons.append([px, py, px + pw, py + ph])
        qx, qy = 8 + 7 * i, 204
        fr.paste(plate, (qx, qy))
        plates.append([qx, qy, qx + 90, qy + 24])
        plate_inks.append(ink.boxes(qx, qy, clip=(W, H)))
        assert len(plate_inks[-1]) == 1 and inside(plate_inks[-1][0], plates[-1])
        frames += fr.tobytes()
    out = GOOD / "moving_plate.mp4"
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{W}x{H}",
           "-r", str(FPS), "-i", "-", "-an", "-c:v", "libx264", "-preset", "medium", "-threads", "1",
           "-pix_fmt", "yuv420p", "-crf", "18", "-map_metadata", "-1", "-fflags", "+bitexact",
           "-flags", "+bitexact", str(out)]
    subprocess.run(cmd, input=bytes(frames), check=True)
    with open(GOOD / "moving_plate.json", "w") as fh:
        json.dump({"fps": FPS, "frames": N, "plate": plates, "person": persons, "plate_ink": plate_inks}, fh)
        fh.write("\n")
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes), person {pw}x{ph}")
    print(f"wrote {(GOOD / 'moving_plate.json').relative_to(ROOT)}")


# ---------------------------------------------------------------------------------------------
# 3. bench/text_set

SET_W, SET_H = 640, 480
N_IMAGES = 40
SCRIPTS = ["latin", "persian", "arabic", "chinese", "cyrillic"]
KINDS = ["plate", "badge", "sign", "placard"]
HEIGHTS = {
    "plate": [8, 9, 10, 11, 12, 13, 14, 16, 18, 20, 23, 26, 30],
    "badge": [8, 9, 10, 11, 12, 13, 14, 16, 18, 20, 22],
    "sign": [9, 10, 12, 14, 16, 20, 24, 28, 34, 40],
    "placard": [20, 24, 28, 32, 38, 44, 50, 56, 60],
}


def photo_background(rng, which):
    src = Image.open(HERE / f"{which}.png").convert("RGB")
    cw = rng.randint(230, 512)
    ch = round(cw * 3 / 4)
    x0, y0 = rng.randint(0, 512 - cw), rng.randint(0, 512 - ch)
    flip = rng.random() < 0.5
    im = src.crop((x0, y0, x0 + cw, y0 + ch)).resize((SET_W, SET_H), Image.BICUBIC)
    sx, sy = SET_W / cw, SET_H / ch
    ignore = []
    if which == "astronaut":
        for (a, b, c, e) in ASTRONAUT_TEXT:
            x1, x2 = (a - x0) * sx, (c - x0) * sx
            y1, y2 = (b - y0) * sy, (e - y0) * sy
            if flip:
                x1, x2 = SET_W - x2, SET_W - x1
            x1, y1 = max(0, math.floor(x1)), max(0, math.floor(y1))
            x2, y2 = min(SET_W, math.ceil(x2)), min(SET_H, math.ceil(y2))
            if x2 - x1 >= 3 and y2 - y1 >= 3:
                ignore.append([x1, y1, x2, y2])
    if flip:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    if which == "camera" and rng.random() < 0.5:  # a warm or cool tint on the grey photo
        tint = rng.choice([(1.05, 1.0, 0.9), (0.92, 0.98, 1.06)])
        im = Image.merge("RGB", [ch_.point(lambda v, k=k: min(255, int(v * k)))
                                 for ch_, k in zip(im.split(), tint)])
    desc = f"{which}.png crop ({x0}, {y0}, {x0 + cw}, {y0 + ch}) scaled to 640x480" + (", mirrored" if flip else "")
    return im, ignore, desc


def noise_layer(rng, w, h, amp, blur):
    """Low-resolution noise scaled up: smooth texture, cheap to JPEG-compress."""
    sw, sh = w // 4, h // 4
    n = Image.new("L", (sw, sh))
    n.putdata([128 + rng.randint(-amp, amp) for _ in range(sw * sh)])
    return n.resize((w, h), Image.BICUBIC).filter(ImageFilter.GaussianBlur(blur))


def synthetic_background(rng, kind):
    W, H = SET_W, SET_H
    if kind == "gradient":
        c1 = [rng.randint(40, 220) for _ in range(3)]
        c2 = [rng.randint(40, 220) for _ in range(3)]
        horiz = rng.random() < 0.5
        line = Image.new("RGB", (256, 1))
        line.putdata([tuple(round(a + (b - a) * i / 255) for a, b in zip(c1, c2)) for i in range(256)])
        im = line.resize((W, H), Image.BILINEAR) if horiz else \
            line.resize((H, W), Image.BILINEAR).transpose(Image.ROTATE_90)
        n = noise_layer(rng, W, H, 60, 1.0)
        im = Image.composite(im, Image.eval(im, lambda v: max(0, v - 12)), n)
        return im, f"synthetic gradient {tuple(c1)} -> {tuple(c2)}"
    if kind == "noise":  # asphalt / concrete
        g = rng.randint(70, 170)
        n = noise_layer(rng, W, H, 40, 0.8)
        im = Image.merge("RGB", [n.point(lambda v, o=o: max(0, min(255, v - 128 + g + o))) for o in (0, 0, 4)])
        return im, f"synthetic noise, grey {g}"
    if kind == "brick":
        mortar = tuple(rng.randint(170, 210) for _ in range(3))
        base = (rng.randint(140, 180), rng.randint(60, 90), rng.randint(40, 70))
        bw, bh = rng.choice([(48, 20), (64, 24), (40, 16)])
        im = Image.new("RGB", (W, H), mortar)
        d = ImageDraw.Draw(im)
        for r, y in enumerate(range(0, H, bh)):
            off = (bw // 2) * (r % 2)
            for x in range(-off, W, bw):
                c = tuple(max(0, min(255, v + rng.randint(-18, 18))) for v in base)
                d.rectangle([x + 2, y + 2, x + bw - 1, y + bh - 1], fill=c)
        im = im.filter(ImageFilter.GaussianBlur(0.7))
        return im, f"synthetic brick wall {bw}x{bh}"
    if kind == "tiles":  # stripes and tiles: a façade / shelf-like structure
        im = Image.new("RGB", (W, H), tuple(rng.randint(150, 230) for _ in range(3)))
        d = ImageDraw.Draw(im)
        step = rng.choice([24, 32, 40])
        col = tuple(rng.randint(40, 140) for _ in range(3))
        for x in range(0, W, step):
            d.line([x, 0, x, H], fill=col, width=2)
        for y in range(0, H, step * 2):
            d.line([0, y, W, y], fill=col, width=3)
        n = noise_layer(rng, W, H, 70, 1.0)
        im = Image.composite(im, Image.eval(im, lambda v: max(0, v - 15)), n)
        return im, f"synthetic tiles, step {step}"
    raise ValueError(kind)


def inside(a, b):
    """Box a lies within box b."""
    return b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3]


def overlaps(a, b, pad):
    return not (a[2] + pad <= b[0] or b[2] + pad <= a[0] or a[3] + pad <= b[1] or b[3] + pad <= a[1])


def make_text_set():
    rng = random.Random(2024)
    TEXT_SET.mkdir(parents=True, exist_ok=True)
    for old in TEXT_SET.glob("*.jpg"):
        old.unlink()
    # Balanced (kind, script) pool: every combination 5 times, drawn in shuffled order.
    pool = [(k, s) for k in KINDS for s in SCRIPTS] * 5
    rng.shuffle(pool)
    bg_kinds = (["astronaut"] * 12 + ["camera"] * 10 + ["gradient"] * 5 + ["noise"] * 5 +
                ["brick"] * 4 + ["tiles"] * 4)
    rng.shuffle(bg_kinds)
    counts = [1] * 7 + [2] * 13 + [3] * 13 + [4] * 7  # 40 images, 100 objects
    rng.shuffle(counts)
    records = []
    total = 0
    for i in range(N_IMAGES):
        bk = bg_kinds[i]
        if bk in ("astronaut", "camera"):
            canvas, ignore, desc = photo_background(rng, bk)
        else:
            canvas, desc = synthetic_background(rng, bk)
            ignore = []
        n_obj = counts[i]
        if i == N_IMAGES - 1:
            n_obj = max(n_obj, len(pool))  # place what earlier images could not
        objects = []
        taken = [list(b) for b in ignore]
        tries = 0
        while len(objects) < n_obj and pool and tries < 12:
            tries += 1
            kind, script = pool[-1]
            th = rng.choice(HEIGHTS[kind])
            angle = 0.0
            if kind == "placard" and rng.random() < 0.7:
                angle = round(rng.uniform(-10, 10), 1)
            elif kind == "badge" and rng.random() < 0.3:
                angle = round(rng.uniform(-6, 6), 1)
            for _ in range(6):  # shrink until it fits comfortably
                sprite, th_real, text, ink = BUILDERS[kind](script, th, rng)
                if sprite.width <= SET_W * 0.8 and sprite.height <= SET_H * 0.6:
                    break
                th = max(8, int(th * 0.8))
            blur = rng.choice([0, 0, 0.4, 0.6]) if th_real > 12 else rng.choice([0, 0, 0.3])
            light = round(rng.uniform(0.8, 1.05), 2)
            sprite, inner = finish_sprite(sprite, angle, blur, light, ink)
            placed = None
            for _ in range(300):
                x = rng.randint(2, SET_W - sprite.width - 2)
                y = rng.randint(2, SET_H - sprite.height - 2)
                box = [x + inner[0], y + inner[1], x + inner[2], y + inner[3]]
                if not any(overlaps(box, t, 6) for t in taken):
                    placed = (x, y, box)
                    break
            if placed is None:
                continue
            x, y, box = placed
            canvas.paste(sprite, (x, y), sprite)
            taken.append(box)
            pool.pop()
            inks = ink.boxes(x, y, clip=(SET_W, SET_H))
            assert len(inks) == len(ink.masks) and all(inside(b, box) for b in inks), (box, inks)
            objects.append({"box": box, "kind": kind, "script": script, "text_height": th_real,
                            "text": text, "angle": angle, "ink": inks})
        name = f"{i:03d}.jpg"
        canvas.save(TEXT_SET / name, quality=90)
        size = (TEXT_SET / name).stat().st_size
        total += size
        records.append({"file": name, "background": desc, "objects": objects, "ignore": ignore})
        print(f"wrote {(TEXT_SET / name).relative_to(ROOT)} ({size} bytes, {len(objects)} objects, {bk})")
    if pool:
        print(f"note: {len(pool)} objects of the pool were not placed")
    with open(TEXT_SET / "boxes.json", "w", encoding="utf-8") as fh:  # one object a line
        dump = lambda v: json.dumps(v, ensure_ascii=False)
        fh.write("[\n")
        for k, r in enumerate(records):
            fh.write(f' {{"file": {dump(r["file"])}, "background": {dump(r["background"])},\n'
                     f'  "ignore": {dump(r["ignore"])},\n  "objects": [\n')
            fh.write(",\n".join("   " + dump(o) for o in r["objects"]))
            fh.write("]}" + ("," if k + 1 < len(records) else "") + "\n")
        fh.write("]\n")
    assert json.loads((TEXT_SET / "boxes.json").read_text(encoding="utf-8")) == records
    n = sum(len(r["objects"]) for r in records)
    small = sum(1 for r in records for o in r["objects"] if o["text_height"] <= 14)
    print(f"wrote {(TEXT_SET / 'boxes.json').relative_to(ROOT)}: {len(records)} images, {n} objects "
          f"({small} with text height <= 14 px), {total} bytes of JPEG")


def main():
    print(f"Python {sys.version.split()[0]}, Pillow {PIL.__version__}, raqm {features.version('raqm')}")
    if not RAQM:
        print("WARNING: Pillow has no raqm: Arabic and Persian are drawn unshaped (basic layout)")
    for p in (SANS, SANS_BOLD, COND_BOLD, WQY):
        if not p.exists():
            sys.exit(f"missing font {p} (apt-get install fonts-dejavu-core fonts-wqy-microhei)")
    GOOD.mkdir(exist_ok=True)
    make_plate_badge()
    make_moving_plate()
    make_text_set()


if __name__ == "__main__":
    main()
