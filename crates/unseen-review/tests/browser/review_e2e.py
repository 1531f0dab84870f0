"""Issue 10, end to end in a real browser: `unseen review` driven by Playwright in Debian's
headless Chromium, on the repository's fixtures.

Usage: review_e2e.py UNSEEN_BINARY [--screenshots DIR]

Images: wait for detection; exclude one detected face; draw one region at a known spot; reload
and see both decisions kept; publish; then check the written pixels (drawn region obscured,
excluded face unchanged, the other face obscured), the sidecar, and that the browser asked no
host but the server. Video: exclude the face track, add a box over a frame range, publish, and
check frames inside and outside the range. Text and people (issue 13): with `--text --people`,
text and person boxes are drawn in their own colours, and excluding the person leaves the face
inside it obscured. Exits non-zero on the first failed check.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageChops, ImageStat
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[4]
TESTDATA = ROOT / "testdata"
# hand-checked face boxes (x1, y1, x2, y2), see crates/unseen/tests/it/common.rs
ASTRONAUT_FACE = (181, 58, 270, 178)
CAMERA_FACE = (202, 119, 258, 197)
DRAWN = (20, 330, 90, 390)  # a spot without any face, in the astronaut half of crowd.png


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}", flush=True)


def mean_diff(a, b, box):
    d = ImageChops.difference(a.crop(box).convert("RGB"), b.crop(box).convert("RGB"))
    return sum(ImageStat.Stat(d).mean) / 3


def changed_fraction(a, b, box):
    a, b = a.crop(box).convert("RGB"), b.crop(box).convert("RGB")
    pa, pb = a.load(), b.load()
    w, h = a.size
    return sum(pa[x, y] != pb[x, y] for x in range(w) for y in range(h)) / (w * h)


def make_inputs(folder):
    folder.mkdir()
    a = Image.open(TESTDATA / "astronaut.png").convert("RGB")
    c = Image.open(TESTDATA / "camera.png").convert("RGB")
    crowd = Image.new("RGB", (a.width + c.width, max(a.height, c.height)), (40, 40, 40))
    crowd.paste(a, (0, 0))
    crowd.paste(c, (a.width, 0))
    crowd.save(folder / "crowd.png")
    shutil.copy(TESTDATA / "good/no_faces.png", folder / "no_faces.png")
    shutil.copy(TESTDATA / "bad/truncated.jpg", folder / "truncated.jpg")
    return a.width


def make_video(path, frames=24):
    a = Image.open(TESTDATA / "astronaut.png").convert("RGB")
    w, h = a.width // 2 * 2, a.height // 2 * 2
    raw = a.crop((0, 0, w, h)).tobytes() * frames
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
         "-s", f"{w}x{h}", "-framerate", "12", "-i", "pipe:0", "-c:v", "libx264", "-preset", "fast",
         "-crf", "8", "-pix_fmt", "yuv444p", str(path)],
        input=raw, check=True)


def decode_frames(path):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "json", str(path)],
                           capture_output=True, check=True)
    s = json.loads(probe.stdout)["streams"][0]
    w, h = s["width"], s["height"]
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
                         capture_output=True, check=True).stdout
    n = w * h * 3
    return [Image.frombytes("RGB", (w, h), out[i:i + n]) for i in range(0, len(out), n)]


class Review:
    """`unseen review` in the background; its URL from stdout."""

    def __init__(self, binary, inputs, out, cwd, extra=()):
        self.proc = subprocess.Popen(
            [binary, "review", "--no-open", "--out", str(out), "--threads", "2", *extra, *map(str, inputs)],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:(\d+)/)\?token=([0-9a-f]{64})", line)
        if not m:
            self.proc.kill()
            raise AssertionError(f"no URL printed: {line!r} {self.proc.stderr.read()}")
        self.url, self.origin, self.port = m.group(0), m.group(1), m.group(2)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def open_page(p, srv, seen):
    """Debian's chromium on the review page, every request URL recorded in `seen`; returns once
    detection has finished."""
    browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1400, "height": 820})
    page.on("request", lambda r: seen.append(r.url))
    page.goto(srv.url)
    page.wait_for_function(
        "() => document.body.dataset.detecting === '0' && document.querySelectorAll('.card').length > 0",
        timeout=300_000)
    return browser, page


def saved(page):
    page.wait_for_function("() => document.getElementById('saved').textContent === 'All changes saved'")
    page.evaluate("() => { document.getElementById('saved').textContent = ''; }")


def to_screen(page, x, y):
    """Screen position of picture pixel (x, y)."""
    r = page.evaluate("""() => { const i = document.getElementById('picture').getBoundingClientRect();
        return {l: i.left, t: i.top, w: i.width, nw: document.getElementById('picture').width}; }""")
    s = r["w"] / r["nw"]
    return r["l"] + x * s, r["t"] + y * s


def draw(page, box, key=True):
    if key:
        page.keyboard.press("d")
    else:
        page.click("#draw")
    x0, y0 = to_screen(page, box[0], box[1])
    x1, y1 = to_screen(page, box[2], box[3])
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()
    saved(page)


def boxes(page):
    return page.evaluate("""() => [...document.querySelectorAll('#boxes .box')].map(b => ({
        kind: b.dataset.kind, key: b.dataset.key, x: parseFloat(b.style.left), y: parseFloat(b.style.top),
        w: parseFloat(b.style.width), h: parseFloat(b.style.height)}))""")


def click_box(page, b):
    # the left edge of the box: inside it, and clear of the score tag above it
    x, y = to_screen(page, b["x"] + 2, b["y"] + b["h"] / 2)
    page.mouse.click(x, y)


def mark_reviewed(page):
    page.focus("#stage")  # not an input, which keeps its keys
    page.keyboard.press("r")
    page.wait_for_function("() => document.getElementById('file-status').textContent === 'reviewed'")


def publish(page, expect_count):
    page.click("#publish-btn")
    page.wait_for_selector("#publish-reviewed:not([disabled])")
    label = page.text_content("#publish-reviewed")
    check(label == f"Publish {expect_count} reviewed", f"publish button names the reviewed files: {label!r}")
    page.click("#publish-reviewed")
    page.wait_for_selector("#publish-summary", timeout=300_000)
    return page.text_content("#publish-summary"), page.text_content("#publish-command")


def images_case(p, binary, work, shots):
    work.mkdir()
    inputs = work / "photos"
    a_width = make_inputs(inputs)
    out = work / "out"
    srv = Review(binary, [inputs], out, work)
    requests = []
    try:
        browser, page = open_page(p, srv, requests)
        cards = page.eval_on_selector_all(".card", "cs => cs.map(c => [c.textContent, c.dataset.status])")
        check(any("truncated.jpg" in t and s == "failed" for t, s in cards), f"the bad file is failed in the grid: {cards}")
        faces = [int(m.group(1)) for t, _ in cards if "crowd.png" in t for m in [re.search(r"(\d+) faces", t)] if m]
        check(faces and faces[0] >= 2, f"crowd.png shows its faces: {cards}")
        ndet = faces[0]
        page.wait_for_function("() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)")
        if shots:
            page.screenshot(path=str(shots / "review-grid.png"))
        page.click(".card:has-text('crowd.png')")
        page.wait_for_function(f"() => document.querySelectorAll('#boxes .box.det').length === {ndet}")
        page.wait_for_function("() => document.getElementById('picture').complete")
        dets = [b for b in boxes(page) if b["kind"] == "det"]
        cam = min(dets, key=lambda b: abs(b["x"] - (a_width + CAMERA_FACE[0])))
        check(abs(cam["x"] - (a_width + CAMERA_FACE[0])) < 30, f"camera face detected near its place: {cam}")
        click_box(page, cam)
        page.keyboard.press("x")
        saved(page)
        draw(page, DRAWN)
        page.reload()
        page.wait_for_function(f"() => document.querySelectorAll('#boxes .box').length === {ndet + 1}", timeout=60_000)
        kinds = sorted(b["kind"] for b in boxes(page))
        check(kinds == ["det"] * (ndet - 1) + ["exc", "man"], f"after reload: one excluded, one drawn region: {kinds}")
        man = next(b for b in boxes(page) if b["kind"] == "man")
        check(all(abs(man[k] - v) <= 3 for k, v in zip("xy", DRAWN[:2])), f"drawn region where it was drawn: {man}")
        exc = next(b for b in boxes(page) if b["kind"] == "exc")
        check(abs(exc["x"] - cam["x"]) < 1, "the excluded box is the camera face")
        page.keyboard.press("p")
        page.wait_for_function("() => document.getElementById('picture').src.includes('published')")
        page.wait_for_function("() => document.getElementById('picture').complete")
        if shots:
            page.screenshot(path=str(shots / "review-published.png"))
        page.keyboard.press("p")
        page.wait_for_function("""() => !document.getElementById('picture').src.includes('published')
            && document.getElementById('picture').complete && !document.getElementById('boxes').classList.contains('hidden')
            && !document.getElementById('preview').classList.contains('on')""")
        page.mouse.move(10, 10)
        if shots:
            page.screenshot(path=str(shots / "review-file.png"))
        mark_reviewed(page)
        summary, command = publish(page, 1)
        check("1 written, 0 skipped, 0 failed" in summary, f"publish report: {summary}")
        check(command.startswith("unseen --regions ") and "--overwrite" in command, f"the CLI command is shown: {command}")
        browser.close()
    finally:
        srv.stop()

    original = Image.open(inputs / "crowd.png").convert("RGB")
    written = Image.open(out / "crowd.png").convert("RGB")
    cam_box = (a_width + CAMERA_FACE[0], CAMERA_FACE[1], a_width + CAMERA_FACE[2], CAMERA_FACE[3])
    check(changed_fraction(original, written, cam_box) == 0, "the excluded face is unchanged, pixel for pixel")
    check(changed_fraction(original, written, DRAWN) > 0.9, "the drawn region is obscured")
    check(mean_diff(original, written, ASTRONAUT_FACE) > 10, "the other face is obscured")
    check(not (out / "no_faces.png").exists(), "a file not reviewed is not published")
    sidecar = json.loads((work / "unseen-review.json").read_text())
    entry = sidecar[str(inputs / "crowd.png")]
    check(entry["reviewed"] is True and len(entry["ignore"]) == 1 and len(entry["obscure"]) == 1, f"sidecar: {entry}")
    check(abs(entry["obscure"][0]["x"] - DRAWN[0]) <= 3 and abs(entry["obscure"][0]["y"] - DRAWN[1]) <= 3, "sidecar box")
    foreign = [u for u in requests if not u.startswith(srv.origin)]
    check(requests and not foreign, f"{len(requests)} requests, none to another host: {foreign[:3]}")
    # the CLI reproduces the decisions from the sidecar: same pixels outside the obscured areas
    cli_out = work / "cli-out"
    subprocess.run([binary, "--regions", str(work / "unseen-review.json"), "--out", str(cli_out), "-q", str(inputs / "crowd.png")],
                   cwd=work, check=True)
    again = Image.open(cli_out / "crowd.png").convert("RGB")
    check(changed_fraction(original, again, cam_box) == 0 and changed_fraction(original, again, DRAWN) > 0.9,
          "unseen --regions unseen-review.json makes the same decisions")


def video_case(p, binary, work):
    work.mkdir()
    clip = work / "clip.mp4"
    make_video(clip)
    out = work / "vout"
    srv = Review(binary, [clip], out, work)
    requests = []
    first, last = 5, 12
    box = (20, 330, 100, 400)
    try:
        browser, page = open_page(p, srv, requests)
        page.click(".card:has-text('clip.mp4')")
        page.wait_for_selector("#tracks li[data-track='0'] button")
        ntracks = page.eval_on_selector_all("#tracks li[data-track]", "ls => ls.length")
        check(ntracks >= 1, f"{ntracks} face track(s) listed")
        page.click("#tracks li[data-track='0'] button")
        saved(page)
        page.wait_for_selector("#tracks li[data-track='0'].excluded")
        check(page.text_content("#tracks li[data-track='0'] button") == "Include", "track 0 excluded")
        page.fill("#scrubber", str(first))
        page.dispatch_event("#scrubber", "input")
        page.wait_for_function(f"() => document.getElementById('frame-no').textContent === '{first}'")
        page.wait_for_function("() => document.getElementById('picture').complete")
        draw(page, box, key=False)  # the focus is on the scrubber, which keeps its keys
        page.fill("#last-frame", str(last))
        page.dispatch_event("#last-frame", "change")
        page.wait_for_function(f"() => document.getElementById('last-frame').value === '{last}'")
        saved(page)
        mark_reviewed(page)
        page.reload()
        page.wait_for_selector("#tracks li[data-track='0'].excluded")
        summary, _ = publish(page, 1)
        check("1 written, 0 skipped, 0 failed" in summary, f"video publish report: {summary}")
        browser.close()
    finally:
        srv.stop()
    foreign = [u for u in requests if not u.startswith(srv.origin)]
    check(requests and not foreign, f"video: {len(requests)} requests, none to another host")
    entry = json.loads((work / "unseen-review.json").read_text())[str(clip)]
    check(entry["obscure"][0]["frames"] == [first, last], f"sidecar box frames: {entry['obscure'][0]}")
    src, dst = decode_frames(clip), decode_frames(out / "clip.mp4")
    check(len(src) == len(dst), f"{len(dst)} frames written")
    for i, (a, b) in enumerate(zip(src, dst)):
        face = mean_diff(a, b, ASTRONAUT_FACE)
        inner = mean_diff(a, b, (box[0] + 4, box[1] + 4, box[2] - 4, box[3] - 4))
        check(face < 6, f"frame {i}: excluded face left visible (diff {face:.1f})")
        if first <= i <= last:
            check(inner > 8, f"frame {i}: timed box obscured (diff {inner:.1f})")
        else:
            check(inner < 6, f"frame {i}: outside the range, left alone (diff {inner:.1f})")


def extras_case(p, binary, work):
    work.mkdir()
    folder = work / "photos"
    folder.mkdir()
    shutil.copy(TESTDATA / "good/plate_badge.png", folder / "plate_badge.png")
    srv = Review(binary, [folder], work / "out", work, extra=["--text", "--people"])
    try:
        browser, page = open_page(p, srv, [])
        page.click(".card:has-text('plate_badge.png')")
        page.wait_for_selector("#boxes .box.det.person")
        colours = page.evaluate("""() => Object.fromEntries(['text', 'person'].map(k => [k,
            [...document.querySelectorAll(`#boxes .box.det.${k}`)].map(b => getComputedStyle(b).borderTopColor)]))""")
        face = page.evaluate("""() => [...document.querySelectorAll('#boxes .box.det')]
            .filter(b => !b.classList.contains('text') && !b.classList.contains('person'))
            .map(b => getComputedStyle(b).borderTopColor)""")
        check(len(colours["text"]) >= 2 and set(colours["text"]) == {"rgb(48, 209, 88)"}, f"text boxes in green: {colours}")
        check(colours["person"] == ["rgb(191, 90, 242)"], f"the person box in purple: {colours}")
        check(face == ["rgb(255, 59, 48)"], f"the face box in red: {face}")
        person = page.evaluate("""() => { const b = document.querySelector('#boxes .box.det.person');
            return {x: parseFloat(b.style.left), y: parseFloat(b.style.top), w: parseFloat(b.style.width),
                    h: parseFloat(b.style.height)}; }""")
        click_box(page, person)
        page.keyboard.press("x")
        saved(page)
        page.wait_for_selector("#boxes .box.exc")
        left = page.evaluate("() => document.querySelectorAll('#boxes .box.det').length")
        check(left == len(colours["text"]) + 1, f"face and text still obscured after excluding the person: {left} boxes")
        browser.close()
    finally:
        srv.stop()
    entry = json.loads((work / "unseen-review.json").read_text())[str(folder / "plate_badge.png")]
    check([b.get("kind") for b in entry["ignore"]] == ["person"], f"the exclusion is limited to people: {entry}")


def main():
    binary = os.path.abspath(sys.argv[1])
    shots = None
    if "--screenshots" in sys.argv:
        shots = Path(sys.argv[sys.argv.index("--screenshots") + 1]).resolve()
        shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d, sync_playwright() as p:
        images_case(p, binary, Path(d) / "images", shots)
        video_case(p, binary, Path(d) / "video")
        extras_case(p, binary, Path(d) / "extras")
    print("review_e2e: all checks passed")


if __name__ == "__main__":
    main()
