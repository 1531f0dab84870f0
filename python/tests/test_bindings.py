"""The Python bindings: same pipeline and guarantees as the CLI, exceptions instead of crashes."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import unseen
from conftest import ASTRONAUT_FACE, TESTDATA, assert_face_obscured, pixels, tree, unseen_cli, video_frames


def iou(a, b):
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    iw = max(0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    return inter / ((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter)


def test_defaults_are_the_libraries_and_options_are_checked():
    d = unseen.defaults()
    assert (d["mode"], d["preset"], d["shape"], d["grid"], d["margin"], d["threshold"]) == (
        "blur", "balanced", "ellipse", 4, 1.3, pytest.approx(0.2))
    a = unseen.Anonymizer(preset="thorough", mode="solid", margin=1.5)
    o = a.options
    assert (o["preset"], o["mode"], o["margin"]) == ("thorough", "solid", 1.5)
    assert a.backend in ("tract", "onnxruntime")
    with pytest.raises(unseen.OptionsError, match="invalid option mode: pixelate"):
        unseen.Anonymizer(mode="pixelate")
    with pytest.raises(unseen.OptionsError, match="grid"):
        unseen.Anonymizer(grid=8)  # reversible: needs allow_weak, like --weak
    assert unseen.Anonymizer(grid=8, allow_weak=True).options["grid"] == 8
    with pytest.raises(TypeError, match="unexpected option"):
        unseen.Anonymizer()._engine.__class__(colour="red")


def test_text_and_people_options_reach_the_library():
    a = unseen.Anonymizer(text=True, people="head", mode="solid", shape="box")
    assert (a.options["text"], a.options["people"]) == (True, "head")
    r = a.process_bytes((TESTDATA / "good" / "plate_badge.png").read_bytes(), "plate_badge.png")
    assert len(r.faces) == 1, r.report
    assert len(r.report["text"]) >= 2 and r.report["people"][0]["kind"] == "person", r.report
    with pytest.raises(unseen.OptionsError, match="people"):
        unseen.Anonymizer(people="torso")


def test_process_bytes_obscures_the_face_by_the_rule_and_keeps_the_rest(anonymizer):
    src = (TESTDATA / "astronaut.png").read_bytes()
    r = anonymizer.process_bytes(src, "astronaut.png")
    assert (r.status, r.format, r.output_name) == ("ok", "png", "astronaut.png")
    assert len(r.faces) == 1, r.faces
    f = r.faces[0]
    assert iou((f.x, f.y, f.x + f.w, f.y + f.h), ASTRONAUT_FACE) >= 0.5
    assert 0.2 <= f.score <= 1.0
    assert_face_obscured(pixels(r.data), pixels(src), lossless=True)
    assert r.report["status"] == "ok" and r.report["faces"][0]["x"] == pytest.approx(f.x)


def test_metadata_is_gone(anonymizer):
    src = (TESTDATA / "good" / "metadata_canary.jpg").read_bytes()
    assert b"CANARY" in src and b"Exif" in src
    r = anonymizer.process_bytes(src, "metadata_canary.jpg")
    assert r.format == "jpeg"
    for needle in (b"CANARY", b"Exif", b"http://ns.adobe.com", b"ICC_PROFILE", b"Photoshop", b"GPS"):
        assert needle not in r.data, needle
    assert r.data.endswith(b"\xff\xd9")


def test_heic_becomes_a_verified_jpeg(anonymizer):
    src = (TESTDATA / "good" / "canary.heic").read_bytes()
    r = anonymizer.process_bytes(src, "IMG_0001.HEIC")
    assert (r.format, r.output_name) == ("jpeg", "IMG_0001.jpg")
    assert r.data[:2] == b"\xff\xd8" and b"CANARY" not in r.data and len(r.faces) == 1


EXPECTED = {
    "empty.jpg": unseen.DecodeError,
    "truncated.jpg": unseen.DecodeError,
    "truncated_in_idat.png": unseen.DecodeError,
    "dims_60000x60000.png": unseen.LimitError,
    "dims_60000x60000.jpg": unseen.LimitError,
    "dims_60000x60000.heic": unseen.LimitError,
    "two_pages.tif": unseen.UnsupportedError,
}


@pytest.mark.parametrize("path", sorted((TESTDATA / "bad").iterdir()), ids=lambda p: p.name)
def test_every_malformed_input_raises_a_one_line_unseen_error(anonymizer, path, tmp_path):
    data = path.read_bytes()
    with pytest.raises(unseen.UnseenError) as e:
        anonymizer.process_bytes(data, path.name)
    msg = str(e.value)
    assert msg.startswith(path.name + ":") and "\n" not in msg, msg
    if path.name in EXPECTED:
        assert isinstance(e.value, EXPECTED[path.name]), (type(e.value), msg)
    # the file path: the same refusal, and nothing under the output's name
    with pytest.raises(unseen.UnseenError) as e:
        anonymizer.process_file(path, tmp_path / path.name)
    assert str(e.value).startswith(str(path) + ":") and "\n" not in str(e.value)
    assert tree(tmp_path) == {}, "a refused input left a file behind"


def test_process_file_commits_images_and_videos_and_skips_existing(anonymizer, tmp_path, video):
    src = TESTDATA / "good" / "metadata_canary.jpg"
    before = src.read_bytes()
    r = anonymizer.process_file(src, tmp_path / "out" / "photo.jpg")
    assert (r.status, r.format, r.data) == ("ok", "jpeg", None)
    out = Path(r.output)
    assert out == tmp_path / "out" / "photo.jpg" and b"CANARY" not in out.read_bytes()
    assert_face_obscured(pixels(out), pixels(src), lossless=False)
    assert src.read_bytes() == before, "the original changed"
    again = anonymizer.process_file(src, tmp_path / "out" / "photo.jpg")
    assert again.status == "skipped"

    v = anonymizer.process_file(video, tmp_path / "out" / "clip.mov")
    assert v.status == "ok" and v.output.endswith("clip.mp4") and v.report["video"]["frames"] == 10
    data = Path(v.output).read_bytes()
    assert b"CANARY" not in data and b"+51.5000" not in data
    src_frames = video_frames(video)
    for i, frame in enumerate(video_frames(Path(v.output))):
        assert_face_obscured(frame, src_frames[i], lossless=False)
    assert sorted(tree(tmp_path / "out")) == ["clip.mp4", "photo.jpg"], "temp files left"
    with pytest.raises(unseen.UnsupportedError, match="use process_file"):
        anonymizer.process_bytes(video.read_bytes(), "clip.mp4")
    with pytest.raises(unseen.OutputIsInputError):
        anonymizer.process_file(tmp_path / "out" / "photo.jpg", tmp_path / "out" / "photo.jpg")


def test_check_output_refuses_metadata(tmp_path):
    from unseen import _unseen

    bad = tmp_path / "x.jpg"
    shutil.copy(TESTDATA / "good" / "metadata_canary.jpg", bad)
    with pytest.raises(unseen.VerifyError, match="x.jpg: verify"):
        _unseen.check_output(bad)


def test_same_boxes_as_the_cli(anonymizer, tmp_path):
    report = tmp_path / "report.json"
    subprocess.run([unseen_cli(), "-q", "-o", str(tmp_path / "cli"), "--report", str(report),
                    str(TESTDATA / "astronaut.png"), str(TESTDATA / "camera.png")], check=True)
    cli = {Path(f["input"]).name: f["faces"] for f in json.loads(report.read_text())["files"]}
    for name in ("astronaut.png", "camera.png"):
        py = anonymizer.process_bytes((TESTDATA / name).read_bytes(), name).report["faces"]
        assert len(py) == len(cli[name]) >= 1
        for a, b in zip(py, cli[name]):
            for k in ("x", "y", "w", "h", "score"):
                assert a[k] == pytest.approx(b[k], abs=1e-3), (name, k)


def test_the_gil_is_released_while_working():
    """Python code in another thread runs while an image is being processed: if the call held
    the GIL, no iteration of the loop below could fall inside it."""
    a = unseen.Anonymizer(threads=1)
    src = (TESTDATA / "astronaut.png").read_bytes()
    span = {}

    def work():
        span["start"] = time.perf_counter()
        a.process_bytes(src, "astronaut.png")
        span["end"] = time.perf_counter()

    t = threading.Thread(target=work)
    ticks = []
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    inside = [x for x in ticks if span["start"] + 0.005 < x < span["end"] - 0.005]
    assert span["end"] - span["start"] > 0.05
    assert len(inside) > 100, f"only {len(inside)} iterations ran during the call: the GIL was held"


def test_one_anonymizer_is_shared_by_threads(anonymizer):
    from concurrent.futures import ThreadPoolExecutor

    src = (TESTDATA / "astronaut.png").read_bytes()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: anonymizer.process_bytes(src, f"a{i}.png"), range(4)))
    boxes = {(round(r.faces[0].x, 3), round(r.faces[0].y, 3)) for r in results}
    assert len(boxes) == 1 and all(r.status == "ok" for r in results)


def test_ctrl_c_stops_a_long_video_leaves_nothing_and_the_anonymizer_works_on(tmp_path):
    """SIGINT in the middle of process_file on a 300 s video (long enough that a loaded machine
    cannot finish it before the signal is seen): KeyboardInterrupt, no output, no temp
    file, no ffmpeg left, and the same Anonymizer then processes a photo. (PyO3 alone only sees
    the signal when the call returns: the whole video was processed and written first.) The
    child installs Python's SIGINT handler itself: started from a shell's background job, it
    would inherit SIGINT ignored, and the video would finish (this failed `.ci/run` twice when
    it was run in the background)."""
    src = tmp_path / "long.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=10:d=300",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(src)],
        check=True,
    )
    out = tmp_path / "out"
    out.mkdir()
    script = textwrap.dedent(
        """
        import signal, sys, unseen
        # Python keeps SIGINT ignored when it starts with it ignored (a background job of a
        # non-interactive shell, as CI scripts may run): give it the handler a terminal has
        signal.signal(signal.SIGINT, signal.default_int_handler)
        src, out, photo = sys.argv[1:4]
        a = unseen.Anonymizer()
        try:
            a.process_file(src, out + "/long.mp4")
            print("finished", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        r = a.process_file(photo, out + "/photo.png")
        print("after", r.status, len(r.faces), flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(src), str(out), str(TESTDATA / "astronaut.png")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 300
        # the video's encoder has started its temp file: frames are flowing
        while not any(p.name.startswith(".unseen-tmp") for p in out.iterdir()):
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "no temp file after 300 s"
            time.sleep(0.05)
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)  # to Python only, as a notebook's interrupt does
        stdout, stderr = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, stderr
    assert stdout.splitlines() == ["interrupted", "after ok 1"], (stdout, stderr)
    assert sorted(p.name for p in out.iterdir()) == ["photo.png"], "the video was written or its temp file left"
    left = []
    for pid in os.listdir("/proc"):
        try:
            cmd = Path("/proc", pid, "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if str(out).encode() in cmd:
            left.append(cmd)
    assert left == [], f"processes still running on the output folder: {left}"
