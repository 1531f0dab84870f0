"""unseen on Ray Data: the same pipeline, options and verification as the CLI, on a cluster.

Three entry points, all built on ``Dataset.map_batches`` with an actor class (one loaded model
per actor; ``concurrency`` actors, each using ``num_cpus`` CPUs and as many detector threads):

* :func:`anonymize_folder` — a folder (on local disk, or a file system every node mounts) into an
  output folder, file by file with the CLI's verify-then-commit. Images and videos. A bad file is
  a row with an ``error``; existing outputs are checked and skipped, so a rerun resumes::

      import ray, unseen.ray
      ray.init()
      unseen.ray.anonymize_folder("photos", "unseen-out").to_pandas()

* :func:`anonymize` — a dataset of files as bytes (``ray.data.read_binary_files(...,
  include_paths=True)``, from local disk or object storage) into one with the verified output
  bytes, the faces and an ``error`` column.
* :func:`write_outputs` — writes such a dataset's outputs under the same relative paths,
  atomically (temp file, re-read and compared, renamed into place).

Node failures: Ray Data restarts a dead actor and retries the batch it held (its defaults for
actor pools: ``max_restarts=-1``, ``max_task_retries=-1``); since an output only ever
appears under its final name after it was verified, a retried file is never half-written, and a
rerun skips what is done.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any, Dict, List, Optional

import pyarrow as pa

import unseen
from unseen import _unseen

__all__ = ["anonymize", "anonymize_folder", "write_outputs", "FACE_TYPE", "OUTPUT_SCHEMA"]

#: Arrow type of the ``faces`` column: one struct per face, in pixels of the upright input.
FACE_TYPE = pa.list_(
    pa.struct([("x", pa.float32()), ("y", pa.float32()), ("w", pa.float32()), ("h", pa.float32()), ("score", pa.float32())])
)

#: Columns :func:`anonymize` adds (besides the path column).
OUTPUT_SCHEMA = pa.schema(
    [
        ("output_name", pa.string()),
        ("data", pa.binary()),
        ("format", pa.string()),
        ("faces", FACE_TYPE),
        ("error", pa.string()),
        ("error_kind", pa.string()),
    ]
)

#: Columns of :func:`anonymize_folder`'s and :func:`write_outputs`' results.
FILE_SCHEMA = pa.schema(
    [
        ("input", pa.string()),
        ("output", pa.string()),
        ("status", pa.string()),
        ("faces", FACE_TYPE),
        ("error", pa.string()),
        ("error_kind", pa.string()),
    ]
)


def _kind(e: BaseException) -> str:
    return type(e).__name__ if isinstance(e, unseen.UnseenError) else "internal"


def _faces(faces: List[unseen.Face]) -> List[Dict[str, float]]:
    return [{"x": f.x, "y": f.y, "w": f.w, "h": f.h, "score": f.score} for f in faces]


class _Worker:
    """One actor: one Anonymizer (one model) for every batch it gets."""

    def __init__(self, options: Dict[str, Any], threads: int, _test_exit_after: Optional[str] = None):
        self.anonymizer = unseen.Anonymizer(threads=threads, **options)
        # tests only: "N:marker" makes the first actor to create `marker` exit hard after N files
        self._exit_after = _test_exit_after
        self._done = 0

    def _maybe_die(self) -> None:
        if not self._exit_after:
            return
        n, marker = self._exit_after.split(":", 1)
        self._done += 1
        if self._done >= int(n):
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            os._exit(1)  # a worker lost mid-batch, as if its node died


class _BytesWorker(_Worker):
    def __init__(self, options, threads, path_column, bytes_column, _test_exit_after=None):
        super().__init__(options, threads, _test_exit_after)
        self.path_column = path_column
        self.bytes_column = bytes_column

    def _one(self, path: str, data: bytes) -> Dict[str, Any]:
        row: Dict[str, Any] = dict.fromkeys(OUTPUT_SCHEMA.names)
        row["faces"] = []
        try:
            if unseen.is_video(path, data[:64]):
                result = self._video(path, data)
            else:
                result = self.anonymizer.process_bytes(data, path)
            row.update(output_name=result.output, data=result.data, format=result.format, faces=_faces(result.faces))
        except Exception as e:  # a bad file is a row with an error, never a failed job
            row.update(error=str(e) or type(e).__name__, error_kind=_kind(e))
        return row

    def _video(self, path: str, data: bytes) -> unseen.Result:
        # the video pipeline streams a file through ffmpeg: give it one, in a private folder
        with tempfile.TemporaryDirectory(prefix="unseen-ray-") as tmp:
            name = os.path.basename(path) or "input"
            src = os.path.join(tmp, name)
            with open(src, "wb") as f:
                f.write(data)
            out = self.anonymizer.process_file(src, os.path.join(tmp, "out", name))
            with open(out.output, "rb") as f:
                video = f.read()
        planned = unseen.output_name(path, data[:64])
        return unseen.Result("ok", planned, "mp4", out.faces, out.report, video)

    def __call__(self, batch: pa.Table) -> pa.Table:
        paths = batch.column(self.path_column).to_pylist()
        blobs = batch.column(self.bytes_column).to_pylist()
        rows = []
        for path, data in zip(paths, blobs):
            rows.append(self._one(path, data))
            self._maybe_die()
        out = pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA)
        for name in OUTPUT_SCHEMA.names:
            if name in batch.column_names:
                batch = batch.drop_columns([name])
        for name in OUTPUT_SCHEMA.names:
            batch = batch.append_column(name, out.column(name))
        return batch


class _FileWorker(_Worker):
    def _one(self, row: Dict[str, Any]) -> Dict[str, Any]:
        out = dict.fromkeys(FILE_SCHEMA.names)
        out.update(input=row["input"], output=row["output"], faces=[])
        if row.get("problem"):
            out.update(status="error", error=row["problem"], error_kind=row["problem_kind"])
            return out
        try:
            # the exact names travel as bytes (a file name need not be UTF-8; Arrow strings must)
            src, dst = os.fsdecode(row["input_path"]), os.fsdecode(row["output_path"])
            result = self.anonymizer.process_file(src, dst)
            if result.status == "skipped":
                # an output under its final name was verified when written; check it still is
                _unseen.check_output(dst)
            out.update(status=result.status, faces=_faces(result.faces))
        except Exception as e:
            out.update(status="error", error=str(e) or type(e).__name__, error_kind=_kind(e))
        return out

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = []
        for row in batch.to_pylist():
            rows.append(self._one(row))
            self._maybe_die()
        return pa.Table.from_pylist(rows, schema=FILE_SCHEMA)


def _map(ds, cls, ctor: Dict[str, Any], concurrency: int, num_cpus: float, batch_size: int):
    return ds.map_batches(
        cls,
        fn_constructor_kwargs=ctor,
        batch_format="pyarrow",
        batch_size=batch_size,
        concurrency=concurrency,
        num_cpus=num_cpus,
    )


def anonymize(
    ds,
    *,
    path_column: str = "path",
    bytes_column: str = "bytes",
    concurrency: int = 1,
    num_cpus: int = 1,
    batch_size: int = 4,
    _test_exit_after: Optional[str] = None,
    **options: Any,
):
    """Anonymises a dataset of files held as bytes; returns it with six more columns.

    ``ds`` has a path column (used for messages, formats and output names) and a bytes column,
    as ``ray.data.read_binary_files(paths, include_paths=True)`` gives. Added columns:
    ``output_name`` (the planned output path: ``x.HEIC`` → ``x.jpg``, videos → ``.mp4``),
    ``data`` (the verified output bytes), ``format``, ``faces`` (see :data:`FACE_TYPE`),
    ``error`` and ``error_kind`` (the exception class name; both null on success). Images go
    through :meth:`unseen.Anonymizer.process_bytes`; a video is written to a private temp folder
    and goes through :meth:`unseen.Anonymizer.process_file`, one file per task. ``options`` are
    :class:`unseen.Anonymizer`'s keywords; each of ``concurrency`` actors runs ``num_cpus``
    detector threads. Leave CPUs for the tasks that read ``ds`` (``concurrency × num_cpus`` below
    the cluster's CPUs), or materialise ``ds`` first: actors that hold every CPU starve the
    reads, and the job waits forever.
    """
    ctor = dict(
        options=options,
        threads=max(1, int(num_cpus)),
        path_column=path_column,
        bytes_column=bytes_column,
        _test_exit_after=_test_exit_after,
    )
    return _map(ds, _BytesWorker, ctor, concurrency, num_cpus, batch_size)


def anonymize_folder(
    src,
    out_dir,
    *,
    concurrency: int = 1,
    num_cpus: int = 1,
    overwrite: bool = False,
    _test_exit_after: Optional[str] = None,
    **options: Any,
):
    """Anonymises every image and video under ``src`` into ``out_dir``, like ``unseen src -o out_dir``.

    The files are planned on the driver by the library (the CLI's output names, collisions,
    special files), then each file is one task on an actor: read, detect, obscure, encode,
    verify, commit. Both folders must be reachable from every node (local disk on one machine; a
    shared file system on a cluster). Returns a materialised dataset with one row per file:
    ``input``, ``output``, ``status`` (``ok``, ``skipped`` or ``error``), ``faces``, ``error``,
    ``error_kind``. Names that are not UTF-8 are processed under their exact names; the rows show
    them with U+FFFD in place of the undecodable bytes. Existing outputs are skipped after :func:`check_output` (no metadata,
    decodes); pass ``overwrite=True`` to redo them.
    """
    import ray

    src, out_dir = os.fspath(src), os.fspath(out_dir)
    jobs, problems, _others = _unseen.collect([src], out_dir)
    rows = [
        {"input": _shown(i), "output": _shown(o), "input_path": os.fsencode(i), "output_path": os.fsencode(o),
         "problem": None, "problem_kind": None}
        for i, o, _ in jobs
    ]
    rows += [
        {"input": _shown(p), "output": None, "input_path": os.fsencode(p), "output_path": None, "problem": msg,
         "problem_kind": kind}
        for p, kind, msg in problems
    ]
    if not rows:
        return ray.data.from_arrow(FILE_SCHEMA.empty_table())
    for _i, o, _ in jobs:
        unseen.sweep_stale(os.path.dirname(o))
    ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), max(1, 4 * concurrency)))
    # overwrite is an Anonymizer option: process_file then replaces existing outputs
    ctor = dict(
        options={**options, "overwrite": True} if overwrite else options,
        threads=max(1, int(num_cpus)),
        _test_exit_after=_test_exit_after,
    )
    return _map(ds, _FileWorker, ctor, concurrency, num_cpus, batch_size=1).materialize()


def _shown(path) -> str:
    """A path as text for the result rows: bytes that are not UTF-8 become U+FFFD (as in the
    CLI's JSON report); the exact name travels beside it as bytes."""
    return os.fsencode(path).decode("utf-8", "replace")


def _relative(path: str, root: Optional[str]) -> str:
    if root is None:
        return os.path.basename(path)
    rel = os.path.relpath(path, root)
    if rel.startswith(os.pardir + os.sep) or rel == os.pardir or os.path.isabs(rel):
        raise ValueError(f"{path}: not under root {root}")
    return rel


def _write_atomic(path: str, data: bytes, overwrite: bool) -> str:
    """Temp file in the target folder, fsync, re-read and compare, then rename into place."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    if not overwrite and os.path.lexists(path):
        return "skipped"
    fd, tmp = tempfile.mkstemp(prefix=".unseen-tmp-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        with open(tmp, "rb") as f:
            if hashlib.sha256(f.read()).digest() != hashlib.sha256(data).digest():
                raise unseen.VerifyError(f"{path}: verify: the bytes read back differ from the verified output")
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the name appeared meanwhile: never replace a file
            os.unlink(tmp)
        return "ok"
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Writer:
    def __init__(self, out_dir: str, root: Optional[str], path_column: str, overwrite: bool):
        self.out_dir, self.root, self.path_column, self.overwrite = out_dir, root, path_column, overwrite

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = []
        for row in batch.to_pylist():
            out = dict.fromkeys(FILE_SCHEMA.names)
            out.update(input=row[self.path_column], faces=row.get("faces") or [])
            if row.get("error"):
                out.update(status="error", error=row["error"], error_kind=row.get("error_kind"))
            else:
                try:
                    target = os.path.join(self.out_dir, _relative(row["output_name"], self.root))
                    out.update(output=target, status=_write_atomic(target, row["data"], self.overwrite))
                except Exception as e:
                    out.update(status="error", error=f"{row[self.path_column]}: write: {e}", error_kind=_kind(e))
            rows.append(out)
        return pa.Table.from_pylist(rows, schema=FILE_SCHEMA)


def write_outputs(ds, out_dir, *, root=None, path_column: str = "path", overwrite: bool = False):
    """Writes the outputs of :func:`anonymize` under ``out_dir``, keeping paths relative to
    ``root`` (default: file names only), atomically. Returns a materialised dataset of rows like
    :func:`anonymize_folder`'s; rows that failed stay error rows and write nothing. The writer
    is one actor that reserves no CPU (it only writes). Materialise ``ds`` first if you also use
    it elsewhere: a Ray dataset is lazy, and each use would anonymise everything again."""
    ctor = dict(out_dir=os.fspath(out_dir), root=os.fspath(root) if root else None, path_column=path_column, overwrite=overwrite)
    return ds.map_batches(_Writer, fn_constructor_kwargs=ctor, batch_format="pyarrow", concurrency=1, num_cpus=0).materialize()
