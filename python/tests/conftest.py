"""Shared fixtures of the Python tests: the repository's test data, a video made with ffmpeg,
and pixel helpers (numpy via Pillow)."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT / "testdata"
# hand-checked face box of testdata/astronaut.png (x1, y1, x2, y2), see testdata/README.md
ASTRONAUT_FACE = (181, 58, 270, 178)


def pixels(data_or_path) -> np.ndarray:
    if isinstance(data_or_path, (bytes, bytearray)):
        import io

        img = Image.open(io.BytesIO(data_or_path))
    else:
        img = Image.open(data_or_path)
    return np.asarray(img.convert("RGB"), dtype=np.int16)


def assert_face_obscured(out: np.ndarray, src: np.ndarray, lossless: bool) -> None:
    """The face core is replaced (not a copy of the face), and far outside it nothing moved."""
    x1, y1, x2, y2 = ASTRONAUT_FACE
    cx, cy, hw, hh = (x1 + x2) // 2, (y1 + y2) // 2, (x2 - x1) // 4, (y2 - y1) // 4
    core = (slice(cy - hh, cy + hh), slice(cx - hw, cx + hw))
    diff_core = np.abs(out[core] - src[core]).mean()
    assert diff_core > 12, f"face core changed by only {diff_core:.1f} levels: not obscured"
    # the eyes/mouth detail is gone: the core's fine structure does not follow the original's
    grad_src = np.abs(np.diff(src[core].mean(axis=2), axis=1)).mean()
    grad_out_smooth = np.abs(np.diff(out[core].mean(axis=2), axis=1))
    assert np.corrcoef(np.abs(np.diff(src[core].mean(axis=2), axis=1)).ravel(), grad_out_smooth.ravel())[0, 1] < 0.3, (
        f"edges of the face survive (source edge energy {grad_src:.1f})"
    )
    far = np.ones(src.shape[:2], dtype=bool)
    far[max(0, y1 - 60) : y2 + 60, max(0, x1 - 60) : x2 + 60] = False
    diff_far = np.abs(out[far] - src[far]).mean()
    limit = 0.0 if lossless else 3.0
    assert diff_far <= limit, f"pixels away from the face changed by {diff_far:.2f} levels"


@pytest.fixture(scope="session")
def anonymizer():
    import unseen

    return unseen.Anonymizer()


@pytest.fixture(scope="session")
def video(tmp_path_factory) -> Path:
    """A 1 s, 10 fps H.264 MP4 of the astronaut with a GPS tag and a title in its metadata."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed for the video tests (.ci/run installs it)")
    out = tmp_path_factory.mktemp("video") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-loop", "1", "-i", str(TESTDATA / "astronaut.png"), "-t", "1", "-r", "10",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-metadata", "location=+51.5000-000.1000/",
         "-metadata", "title=CANARY-7f3a", str(out)],
        check=True,
    )
    return out


def video_frames(path: Path) -> list:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout
    w, h = 512, 512
    n = len(raw) // (w * h * 3)
    return [np.frombuffer(raw[i * w * h * 3 : (i + 1) * w * h * 3], dtype=np.uint8).reshape(h, w, 3).astype(np.int16) for i in range(n)]


def tree(folder: Path) -> dict:
    """Relative path -> bytes of every file under folder (temp files included: none may stay)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def unseen_cli() -> str:
    """The CLI binary the Rust tests built ($UNSEEN_BIN, else target/debug/unseen)."""
    path = os.environ.get("UNSEEN_BIN") or str(ROOT / "target" / "debug" / "unseen")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path}: the CLI binary is missing (run `cargo test --workspace` first, or set UNSEEN_BIN)")
    return path
