"""unseen.ray on a local Ray cluster: good files verified, bad files error rows, reruns resume,
a worker killed mid-batch leaves only complete outputs."""

import shutil
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")  # .ci/run installs ray[data]; without it these tests cannot run
import unseen  # noqa: E402
import unseen.ray  # noqa: E402
from conftest import TESTDATA, assert_face_obscured, pixels, tree  # noqa: E402

GOOD = {
    "astronaut.png": "astronaut.png",
    "people/metadata_canary.jpg": "people/metadata_canary.jpg",
    "people/IMG_0001.HEIC": "people/IMG_0001.jpg",
    "clip.mp4": "clip.mp4",
}
BAD = {"broken/truncated.jpg": "DecodeError", "broken/empty.png": "DecodeError", "huge.png": "LimitError"}


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture
def folder(tmp_path, video) -> Path:
    src = tmp_path / "in"
    for rel, from_ in {
        "astronaut.png": TESTDATA / "astronaut.png",
        "people/metadata_canary.jpg": TESTDATA / "good" / "metadata_canary.jpg",
        "people/IMG_0001.HEIC": TESTDATA / "good" / "canary.heic",
        "clip.mp4": video,
        "broken/truncated.jpg": TESTDATA / "bad" / "truncated.jpg",
        "broken/empty.png": TESTDATA / "bad" / "empty.png",
        "huge.png": TESTDATA / "bad" / "dims_60000x60000.png",
    }.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(from_, src / rel)
    return src


def check_outputs(src: Path, out: Path) -> None:
    """Every good file is there under its planned name, verified; nothing else is."""
    assert sorted(tree(out)) == sorted(GOOD.values())
    for data in tree(out).values():
        assert b"CANARY" not in data
    assert_face_obscured(pixels(out / "astronaut.png"), pixels(src / "astronaut.png"), lossless=True)
    assert_face_obscured(pixels(out / "people/metadata_canary.jpg"), pixels(TESTDATA / "astronaut.png"), lossless=False)
    for rel in GOOD.values():
        unseen._unseen.check_output(out / rel)


def by_input(ds, src: Path) -> dict:
    return {str(Path(r["input"]).relative_to(src)): r for r in ds.take_all()}


def test_a_folder_goes_through_ray_and_a_rerun_processes_nothing_new(folder, tmp_path):
    out = tmp_path / "out"
    rows = by_input(unseen.ray.anonymize_folder(folder, out, concurrency=2), folder)
    assert sorted(rows) == sorted([*GOOD, *BAD])
    for rel in GOOD:
        assert rows[rel]["status"] == "ok" and rows[rel]["error"] is None, rows[rel]
        assert rows[rel]["output"] == str(out / GOOD[rel])
    assert len(rows["astronaut.png"]["faces"]) == 1
    for rel, kind in BAD.items():
        r = rows[rel]
        assert (r["status"], r["error_kind"]) == ("error", kind), r
        assert r["error"].startswith(str(folder / rel) + ":")
    check_outputs(folder, out)
    before = tree(out)

    again = by_input(unseen.ray.anonymize_folder(folder, out, concurrency=2), folder)
    assert {rel: again[rel]["status"] for rel in GOOD} == dict.fromkeys(GOOD, "skipped")
    assert all(again[rel]["status"] == "error" for rel in BAD)
    assert tree(out) == before, "a rerun rewrote outputs"


def test_a_worker_killed_mid_batch_leaves_only_complete_outputs(folder, tmp_path):
    out, marker = tmp_path / "out", tmp_path / "killed"
    ds = unseen.ray.anonymize_folder(folder, out, concurrency=1, _test_exit_after=f"2:{marker}")
    rows = by_input(ds, folder)
    assert marker.exists(), "the worker was not killed: the test proves nothing"
    assert all(rows[rel]["status"] in ("ok", "skipped") for rel in GOOD), rows
    check_outputs(folder, out)


def test_bytes_in_bytes_out_and_written_under_the_same_relative_paths(folder, tmp_path):
    ds = ray.data.read_binary_files(str(folder), include_paths=True)
    # one actor of one CPU: the other CPU reads (actors holding both would starve the reads)
    result = unseen.ray.anonymize(ds, concurrency=1).materialize()
    rows = {str(Path(r["path"]).relative_to(folder)): r for r in result.take_all()}
    assert sorted(rows) == sorted([*GOOD, *BAD])
    for rel, planned in GOOD.items():
        r = rows[rel]
        assert r["error"] is None and r["data"] and r["output_name"].endswith(planned), r["error"]
        assert b"CANARY" not in r["data"]
    assert rows["clip.mp4"]["format"] == "mp4" and rows["people/IMG_0001.HEIC"]["format"] == "jpeg"
    assert_face_obscured(pixels(rows["astronaut.png"]["data"]), pixels(folder / "astronaut.png"), lossless=True)
    for rel, kind in BAD.items():
        assert rows[rel]["error_kind"] == kind and rows[rel]["data"] is None

    out = tmp_path / "written"
    written = {Path(r["input"]).name: r for r in unseen.ray.write_outputs(result, out, root=folder).take_all()}
    assert written["truncated.jpg"]["status"] == "error"
    check_outputs(folder, out)
    again = unseen.ray.write_outputs(result, out, root=folder).take_all()
    assert {r["status"] for r in again if r["error"] is None} == {"skipped"}


def test_a_file_name_that_is_not_utf8_is_processed_under_its_exact_name(tmp_path):
    import os

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    name = os.fsdecode(b"caf\xe9.jpg")  # Latin-1 bytes, as old cameras and Windows shares write
    shutil.copy(TESTDATA / "good" / "astronaut.jpg", src / name)
    rows = unseen.ray.anonymize_folder(src, out).take_all()
    assert len(rows) == 1 and rows[0]["status"] == "ok", rows
    assert rows[0]["input"].endswith("caf\ufffd.jpg")
    assert os.listdir(os.fsencode(out)) == [b"caf\xe9.jpg"]
    again = unseen.ray.anonymize_folder(src, out).take_all()
    assert again[0]["status"] == "skipped", again
