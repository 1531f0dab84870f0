"""unseen: make photos and videos safe to publish, from Python.

Finds every face, obscures it irreversibly, writes a fresh file without any metadata, re-reads
and verifies what it wrote; fully offline. The same Rust library, options, defaults and checks
as the ``unseen`` command line tool::

    import unseen

    anonymizer = unseen.Anonymizer()                 # the CLI's defaults
    result = anonymizer.process_bytes(open("photo.heic", "rb").read(), "photo.heic")
    result.data, result.format, result.output_name   # verified JPEG bytes, "jpeg", "photo.jpg"
    anonymizer.process_file("clip.mov", "out/clip.mp4")  # images and videos, atomic commit

Every method releases the GIL, and one ``Anonymizer`` may be shared by threads. Failures raise
a subclass of :class:`UnseenError` whose message is one line naming the file and the cause.
Ctrl-C interrupts a call within a frame: ``KeyboardInterrupt`` is raised, nothing partial is
written, and the ``Anonymizer`` stays usable.
For Ray Data, see :mod:`unseen.ray`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from ._unseen import (
    MODEL_SHA256,
    DecodeError,
    DetectError,
    EncodeError,
    Engine as _Engine,
    IoError,
    LimitError,
    OptionsError,
    OutputIsInputError,
    StoppedError,
    UnseenError,
    UnsupportedError,
    VerifyError,
    __version__,
    default_options as _default_options,
    is_video as _is_video,
    plan_output_name as _plan_output_name,
    sweep_stale as _sweep_stale,
)

__all__ = [
    "Anonymizer",
    "Face",
    "Result",
    "defaults",
    "output_name",
    "is_video",
    "sweep_stale",
    "MODEL_SHA256",
    "__version__",
    "UnseenError",
    "IoError",
    "OutputIsInputError",
    "DecodeError",
    "UnsupportedError",
    "LimitError",
    "DetectError",
    "EncodeError",
    "VerifyError",
    "OptionsError",
    "StoppedError",
]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Face:
    """One detected face, in pixels of the upright input, before the margin is applied."""

    x: float
    y: float
    w: float
    h: float
    score: float


@dataclass(frozen=True)
class Result:
    """What one input became.

    ``data`` holds the verified output bytes for :meth:`Anonymizer.process_bytes` and is
    ``None`` for :meth:`Anonymizer.process_file`, whose output is the file at ``output``.
    ``status`` is ``"ok"`` (written) or ``"skipped"`` (the output existed and was left alone).
    ``report`` is the CLI's per-file JSON report entry as a dict.
    """

    status: str
    output: Optional[str]
    format: Optional[str]
    faces: List[Face]
    report: Dict[str, Any]
    data: Optional[bytes] = field(default=None, repr=False)

    @property
    def output_name(self) -> Optional[str]:
        """The planned output file name (``IMG_1.HEIC`` → ``IMG_1.jpg``, videos → ``.mp4``)."""
        return os.path.basename(self.output) if self.output else None


def _faces(report: Dict[str, Any]) -> List[Face]:
    return [Face(f["x"], f["y"], f["w"], f["h"], f["score"]) for f in report.get("faces", [])]


def _format_of(path: Optional[str]) -> Optional[str]:
    if not path:
        return None
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return {"jpg": "jpeg", "jpeg": "jpeg", "tif": "tiff"}.get(ext, ext or None)


def defaults() -> Dict[str, Any]:
    """The options an ``Anonymizer()`` runs with: the CLI's defaults, read from the library."""
    return json.loads(_default_options())


def output_name(name: PathLike, head: bytes = b"") -> str:
    """The output name unseen plans for ``name`` whose file starts with ``head``."""
    return str(_plan_output_name(os.fspath(name), head))


def is_video(name: PathLike, head: bytes = b"") -> bool:
    """Whether unseen treats the file as a video (by content, else by extension)."""
    return _is_video(os.fspath(name), head)


def sweep_stale(folder: PathLike) -> int:
    """Removes unseen's own temp files left in ``folder`` by a killed run (older than an hour)."""
    return _sweep_stale(os.fspath(folder))


class Anonymizer:
    """A loaded detector with its options: the library's ``Options``, built from keywords.

    Every keyword left ``None`` takes the CLI's default (see :func:`defaults`); the names match
    the CLI's flags: ``preset`` ("fast", "balanced", "thorough"), ``mode`` ("blur", "mosaic",
    "solid", "none": preview only), ``shape`` ("ellipse", "box"), ``threshold`` (0..1, default:
    the preset's), ``margin`` (1..4), ``grid`` (≤ 4 unless ``allow_weak``), ``noise``,
    ``jpeg_quality``, ``threads`` (detector threads, default: all CPUs), ``backend`` ("auto",
    "tract", "ort"), ``audio`` ("drop", "keep"), ``extend_frames``, ``keyframe_interval``,
    ``max_pixels``, ``max_file_bytes``, ``overwrite`` (replace existing outputs in
    :meth:`process_file`), ``regions`` (a regions file, as ``--regions``), ``text`` (also obscure
    text, as ``--text``), ``people`` ("body" or "head", as ``--people``), ``people_threshold``,
    ``cascade`` (default True; False as ``--no-cascade``).

    Raises :class:`OptionsError` for a bad value and ``TypeError`` for an unknown name.
    """

    def __init__(
        self,
        *,
        preset: Optional[str] = None,
        mode: Optional[str] = None,
        shape: Optional[str] = None,
        threshold: Optional[float] = None,
        margin: Optional[float] = None,
        grid: Optional[int] = None,
        allow_weak: Optional[bool] = None,
        noise: Optional[int] = None,
        jpeg_quality: Optional[int] = None,
        threads: Optional[int] = None,
        backend: Optional[str] = None,
        audio: Optional[str] = None,
        extend_frames: Optional[int] = None,
        keyframe_interval: Optional[int] = None,
        max_pixels: Optional[int] = None,
        max_file_bytes: Optional[int] = None,
        overwrite: Optional[bool] = None,
        regions: Optional[PathLike] = None,
        text: Optional[bool] = None,
        people: Optional[str] = None,
        people_threshold: Optional[float] = None,
        cascade: Optional[bool] = None,
    ) -> None:
        given = dict(
            preset=preset,
            mode=mode,
            shape=shape,
            threshold=threshold,
            margin=margin,
            grid=grid,
            allow_weak=allow_weak,
            noise=noise,
            jpeg_quality=jpeg_quality,
            threads=threads,
            backend=backend,
            audio=audio,
            extend_frames=extend_frames,
            keyframe_interval=keyframe_interval,
            max_pixels=max_pixels,
            max_file_bytes=max_file_bytes,
            overwrite=overwrite,
            regions=os.fspath(regions) if regions is not None else None,
            text=text,
            people=people,
            people_threshold=people_threshold,
            cascade=cascade,
        )
        self._engine = _Engine(**{k: v for k, v in given.items() if v is not None})

    @property
    def options(self) -> Dict[str, Any]:
        """The options in force (the library's ``Options`` as the CLI's report writes them)."""
        return json.loads(self._engine.options())

    @property
    def backend(self) -> str:
        """The inference engine that runs the detector: ``"tract"`` or ``"onnxruntime"``."""
        return self._engine.backend()

    def process_bytes(self, data: bytes, name: str) -> Result:
        """Anonymises one image held in memory and returns verified output bytes.

        ``name`` is used in error messages, to plan the output name, and to look the input up
        in a regions file; the format is recognised by content. The output was re-decoded and
        checked (faces obscured by the rule, no metadata) before it is returned. Videos raise
        :class:`UnsupportedError`: use :meth:`process_file`.
        """
        out, fmt, out_name, report = self._engine.process_bytes(bytes(data), os.fspath(name))
        rep = json.loads(report)
        return Result("ok", str(out_name), fmt, _faces(rep), rep, out)

    def process_file(self, src: PathLike, dst: PathLike) -> Result:
        """Anonymises the file ``src`` (image or video) into ``dst``, like the CLI.

        The output is written to a temp file in ``dst``'s folder, re-read and verified, and only
        then renamed to its final name, so a file under the final name is always complete and
        verified. A video is written as MP4 (``dst`` with ``.mp4``); an image keeps ``dst``
        unless it needs another extension. An existing output is left alone (status
        ``"skipped"``) unless the anonymizer was built with ``overwrite=True``.

        Ctrl-C (``KeyboardInterrupt``) stops a video at its next frame: its temp file is
        removed, its ffmpeg processes end, and no output is written. Calls on the same
        anonymizer in other threads at that moment raise :class:`StoppedError`.
        """
        rep = json.loads(self._engine.process_file(os.fspath(src), os.fspath(dst)))
        return Result(rep["status"], rep.get("output"), _format_of(rep.get("output")), _faces(rep), rep)

    def __repr__(self) -> str:
        o = self.options
        return f"Anonymizer(preset={o['preset']!r}, mode={o['mode']!r}, threshold={o['threshold']!r}, backend={self.backend!r})"
