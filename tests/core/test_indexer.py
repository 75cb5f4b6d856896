"""The indexing pipeline against real folders: incremental, moves without re-embedding, bad files."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosim.core.indexer import Indexer, IndexReport
from photosim.core.library import Library
from photosim.core.progress import Progress, RunControl
from photosim.core.search import Searcher
from tests.photos import crop_center, save_jpeg


def _index(lib: Library, **kwargs: object):  # noqa: ANN202
    return Indexer(lib, batch_size=8).run(**kwargs)  # type: ignore[arg-type]


def _consistent(lib: Library) -> None:
    """Every photo once, index keys == catalog's indexed ids, catalog invariants hold."""
    assert lib.catalog.integrity_problems() == []
    paths = lib.catalog.all_paths()
    assert len(paths) == len(set(paths))
    want = sorted(lib.catalog.indexed_ids(lib.model_id).tolist())
    assert sorted(lib.index.keys().tolist()) == want


def test_first_run_indexes_everything_then_nothing_changes(library: Library, photo_dir: Path) -> None:
    n = len(list(photo_dir.glob("*.jpg")))
    library.catalog.add_folder(str(photo_dir))
    seen: list[Progress] = []
    first = _index(library, on_progress=seen.append)
    assert (first.indexed, first.embedded, first.failed) == (n, n, 0)
    assert library.catalog.counts()["indexed"] == n and len(library.index) == n
    indexing = [p for p in seen if p.phase == "indexing"]
    assert indexing and indexing[-1].done == indexing[-1].total == n
    assert all(p.rate >= 0 for p in indexing)
    assert seen[-1].phase == "done"
    second = _index(library)
    assert (second.indexed, second.embedded, second.unchanged) == (0, 0, n)
    _consistent(library)


def test_moves_renames_edits_touches_copies_and_deletions(library: Library, photo_dir: Path) -> None:
    library.catalog.add_folder(str(photo_dir))
    _index(library)
    before = {os.fsdecode(r[0]): r[1] for r in library.catalog.query("SELECT path, id FROM photos")}
    cat_id = before[str(photo_dir / "chelsea.jpg")]

    (photo_dir / "pets").mkdir()
    shutil.move(photo_dir / "chelsea.jpg", photo_dir / "pets" / "kitty.jpg")  # move + rename
    os.rename(photo_dir / "coffee.jpg", photo_dir / "espresso.jpg")  # rename
    rocket = photo_dir / "rocket.jpg"
    save_jpeg(crop_center(Image.open(rocket).convert("RGB"), 0.6), rocket)  # edited in place
    os.utime(photo_dir / "astronaut.jpg", ns=(time.time_ns(), time.time_ns() + 10**10))  # touched only
    shutil.copy(photo_dir / "china.jpg", photo_dir / "china copy.jpg")  # duplicate
    os.remove(photo_dir / "flower.jpg")  # deleted

    report = _index(library)
    assert report.moved == 2
    assert report.embedded == 1  # only the edited photo ran through the model
    assert report.reused == 1 and report.removed == 1 and report.failed == 0
    after = {os.fsdecode(r[0]): r[1] for r in library.catalog.query("SELECT path, id FROM photos")}
    assert after[str(photo_dir / "pets" / "kitty.jpg")] == cat_id  # same row, same embedding
    assert str(photo_dir / "chelsea.jpg") not in after and str(photo_dir / "flower.jpg") not in after
    assert after[str(photo_dir / "rocket.jpg")] != before[str(photo_dir / "rocket.jpg")]
    assert after[str(photo_dir / "astronaut.jpg")] == before[str(photo_dir / "astronaut.jpg")]
    _consistent(library)
    hits = Searcher(library).search_photo(cat_id, 3)
    assert all(os.path.exists(h.path) for h in hits)
    assert _index(library).embedded == 0


def test_bad_files_are_recorded_and_the_run_goes_on(library: Library, photo_dir: Path, tmp_path: Path) -> None:
    good = len(list(photo_dir.glob("*.jpg")))
    bad = photo_dir / "bad"
    bad.mkdir()
    (bad / "zero.jpg").write_bytes(b"")
    (bad / "notes.jpg").write_text("not a photo\n" * 50)
    full = (photo_dir / "chelsea.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(full[: len(full) // 3])
    Image.new("1", (20000, 14000)).save(bad / "bomb.png")
    (bad / "folder.jpg").mkdir()  # a folder with an image name is not a file: skipped
    os.symlink(bad / "nowhere.jpg", bad / "dangling.jpg")
    library.catalog.add_folder(str(photo_dir))
    report = _index(library)
    reasons = {Path(p).name: why for p, why in report.failures}
    assert set(reasons) == {"zero.jpg", "notes.jpg", "truncated.jpg", "bomb.png"}
    assert "empty" in reasons["zero.jpg"] and "not an image" in reasons["notes.jpg"]
    assert "truncated" in reasons["truncated.jpg"] and "too large" in reasons["bomb.png"]
    assert report.indexed == good and report.failed == 4
    assert {Path(r.path).name: r.error for r in library.catalog.failures()} == reasons
    again = _index(library)  # failures are not retried until the file changes
    assert again.failed == 0 and again.embedded == 0
    save_jpeg(Image.open(photo_dir / "coffee.jpg"), bad / "notes.jpg")  # fixed by the user
    fixed = _index(library)
    assert fixed.indexed == 1 and library.catalog.counts()["failed"] == 3
    _consistent(library)


def test_offline_folder_keeps_its_photos_and_removed_folder_drops_them(
    library: Library, photo_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "usb-drive"
    other.mkdir()
    shutil.copy(photo_dir / "chelsea.jpg", other / "cat.jpg")
    library.catalog.add_folder(str(photo_dir))
    library.catalog.add_folder(str(other))
    n = _index(library).indexed
    os.rename(other, tmp_path / "unplugged")
    report = _index(library)
    assert report.offline_folders == [str(other)] and report.removed == 0
    assert library.catalog.counts()["indexed"] == n
    ids = library.catalog.remove_folder(str(other))
    library.remove_vectors(ids)
    assert len(ids) == 1 and len(library.index) == n - 1
    _consistent(library)


def _empty(folder: Path, into: Path) -> None:
    into.mkdir()
    for entry in list(folder.iterdir()):
        shutil.move(str(entry), str(into / entry.name))


def test_a_folder_emptied_by_hand_loses_its_photos_an_unmounted_drives_mount_point_keeps_them(
    library: Library, photo_dir: Path, tmp_path: Path
) -> None:
    """Found trying the app: moving every photo out of a watched folder (a phone folder offloaded to
    the archive) left them all in the library as "offline", found twice over and pointing at nothing.
    An empty folder on the file system its photos were found on was emptied there; an empty mount
    point is on the disk beneath its drive."""
    phone, mount_point = tmp_path / "phone", tmp_path / "mnt-photos"
    shutil.copytree(photo_dir, phone)
    shutil.copytree(photo_dir, mount_point)
    library.catalog.add_folder(str(phone))
    library.catalog.add_folder(str(mount_point))
    n = _index(library).indexed
    assert n == 2 * len(list(photo_dir.iterdir()))
    devices = {f.path: f.device for f in library.catalog.folders()}
    assert devices == {str(phone): os.stat(phone).st_dev, str(mount_point): os.stat(mount_point).st_dev}
    # what the library would have noted had the photos been on a drive mounted there
    library.catalog.set_folder_device(library.catalog.folder_for(str(mount_point)).id, devices[str(mount_point)] + 1)
    _empty(phone, tmp_path / "archive")
    _empty(mount_point, tmp_path / "the drive itself")
    report = _index(library)
    assert report.removed == n // 2 and report.offline_folders == [str(mount_point)]
    assert report.offline_reasons == {str(mount_point): "folder is empty: the drive it was on is not mounted"}
    assert library.catalog.counts()["indexed"] == n // 2 and len(library.index) == n // 2
    assert all(r.path.startswith(str(mount_point)) for r in library.catalog.library_page(0, 1000))
    _consistent(library)


def test_an_empty_folder_whose_file_system_was_never_noted_keeps_its_photos(
    library: Library, photo_dir: Path, tmp_path: Path
) -> None:
    """A library from before the file system was noted cannot tell a hand-emptied folder from an
    unmounted drive's mount point, so it keeps the photos (stale entries, not a re-index of a drive)."""
    folder = tmp_path / "old library's folder"
    shutil.copytree(photo_dir, folder)
    library.catalog.add_folder(str(folder))
    n = _index(library).indexed
    library.catalog.delete_meta(f"folder_device.{library.catalog.folders()[0].id}")
    assert library.catalog.folders()[0].device is None
    _empty(folder, tmp_path / "elsewhere")
    report = _index(library)
    assert report.removed == 0 and report.offline_folders == [str(folder)]
    assert report.offline_reasons == {str(folder): "folder is empty (a drive that is not mounted?)"}
    assert library.catalog.counts()["indexed"] == n


def test_a_real_unmounted_drive_keeps_its_photos_and_is_back_unchanged_when_mounted(
    library: Library, photo_dir: Path, tmp_path: Path, tmpfs: Path
) -> None:
    import subprocess

    for f in photo_dir.iterdir():
        shutil.copy2(f, tmpfs / f.name)
    library.catalog.add_folder(str(tmpfs))
    n = _index(library).indexed
    ids = {r.id for r in library.catalog.library_page(0, 1000)}
    assert subprocess.run(["umount", str(tmpfs)]).returncode == 0
    assert not any(tmpfs.iterdir())
    report = _index(library)
    assert report.removed == 0 and report.offline_folders == [str(tmpfs)]
    assert subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(tmpfs)]).returncode == 0
    for f in photo_dir.iterdir():
        shutil.copy2(f, tmpfs / f.name)
    report = _index(library)
    assert report.embedded == 0 and report.removed == 0 and {r.id for r in library.catalog.library_page(0, 1000)} == ids
    assert library.catalog.counts()["indexed"] == n
    _consistent(library)


def test_hidden_and_system_folders_are_skipped_and_symlink_loops_survived(library: Library, photo_dir: Path) -> None:
    n = len(list(photo_dir.glob("*.jpg")))
    for hidden in (".thumbnails", "@eaDir", ".git"):
        (photo_dir / hidden).mkdir()
        shutil.copy(photo_dir / "chelsea.jpg", photo_dir / hidden / "x.jpg")
    shutil.copy(photo_dir / "coffee.jpg", photo_dir / ".hidden.jpg")
    (photo_dir / "sub").mkdir()
    os.symlink(photo_dir, photo_dir / "sub" / "loop")  # a loop back to the top
    (photo_dir / "notes.txt").write_text("not an image name: ignored")
    library.catalog.add_folder(str(photo_dir))
    report = _index(library)
    assert report.indexed + report.reused == n
    assert all("/." not in r.path and "@eaDir" not in r.path for r in library.catalog.library_page(0, 1000))


def test_cancel_keeps_committed_work_and_the_next_run_finishes(
    library: Library, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = len(list(photo_dir.glob("*.jpg")))
    library.catalog.add_folder(str(photo_dir))
    control = RunControl()
    add_vectors = library.add_vectors

    def add_then_cancel(ids, vectors) -> None:  # noqa: ANN001
        add_vectors(ids, vectors)
        control.cancel()  # the user presses Cancel right after the first batch is committed

    monkeypatch.setattr(library, "add_vectors", add_then_cancel)
    first = Indexer(library, batch_size=4).run(control=control)
    monkeypatch.setattr(library, "add_vectors", add_vectors)
    assert first.cancelled and 0 < first.indexed < n
    assert library.catalog.counts()["indexed"] == first.indexed
    second = Indexer(library, batch_size=4).run()
    assert second.embedded == n - first.indexed  # nothing committed is redone
    assert library.catalog.counts() == {"pending": 0, "indexed": n, "failed": 0}
    _consistent(library)


def test_pause_holds_the_run_until_resumed(library: Library, photo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    library.catalog.add_folder(str(photo_dir))
    control = RunControl()
    add_vectors = library.add_vectors

    def add_then_pause(ids, vectors) -> None:  # noqa: ANN001
        add_vectors(ids, vectors)
        if not hasattr(add_then_pause, "done"):
            add_then_pause.done = True  # type: ignore[attr-defined]
            control.pause()  # the user presses Pause right after the first batch is committed

    monkeypatch.setattr(library, "add_vectors", add_then_pause)

    result: list = []
    worker = threading.Thread(target=lambda: result.append(Indexer(library, batch_size=4).run(control=control)))
    worker.start()
    deadline = time.monotonic() + 120
    while not control.paused and time.monotonic() < deadline:
        time.sleep(0.05)
    assert control.paused
    time.sleep(1.5)
    assert worker.is_alive()  # held while paused
    paused_at = library.catalog.counts()["indexed"]
    time.sleep(1.0)
    assert library.catalog.counts()["indexed"] == paused_at
    control.resume()
    worker.join(180)
    assert not worker.is_alive() and result[0].indexed + result[0].reused == len(list(photo_dir.glob("*.jpg")))


def test_targeted_update_of_a_single_new_file(library: Library, photo_dir: Path, tmp_path: Path) -> None:
    library.catalog.add_folder(str(photo_dir))
    n = _index(library).indexed
    shutil.copy(photo_dir / "rocket.jpg", tmp_path / "outside.jpg")
    save_jpeg(np_image(), photo_dir / "new.jpg")
    report = _index(library, paths=[str(photo_dir / "new.jpg"), str(tmp_path / "outside.jpg")])
    assert report.indexed == 1 and report.unchanged == 0  # only the named file was looked at
    assert library.catalog.counts()["indexed"] == n + 1
    os.remove(photo_dir / "new.jpg")
    assert _index(library, paths=[str(photo_dir / "new.jpg")]).removed == 1


def np_image() -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 255, size=(200, 300, 3), dtype=np.uint8))


def test_readonly_library_cannot_index(data_dir: Path, embedder) -> None:  # noqa: ANN001
    Library(data_dir, embedder=embedder).close()
    with Library(data_dir, writable=False, embedder=embedder) as ro:
        with pytest.raises(ValueError):
            Indexer(ro)


def _run_with_a_slow_model(data_dir: Path, embedder, photo_dir: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
                           hold: float) -> tuple[IndexReport, list[tuple[bool, Progress]]]:
    """Index 32 photos while the model takes ``hold`` seconds to load once 16 photos are shown decoded
    ahead. Returns the report and every progress step, each marked True once the model was there."""
    import threading

    from photosim.core import indexer as indexer_module
    from photosim.core import library as library_module
    from photosim.core.devices import ComputePlan, LoadedModel

    ahead = threading.Event()
    loaded_at = [0.0]

    def held_load(backbone, choice="auto", runtime=None):  # noqa: ANN001, ANN202
        ahead.wait(20)  # until the run has shown photos decoded ahead
        time.sleep(hold)
        loaded_at[0] = time.monotonic()
        return LoadedModel(embedder, ComputePlan("cpu", "torch", "cpu"))

    monkeypatch.setattr(library_module, "load_embedder", held_load)
    unthrottled = type("Unthrottled", (indexer_module._Throttled,), {})  # every step reaches the test
    monkeypatch.setattr(indexer_module, "_Throttled", lambda callback: unthrottled(callback, interval=0.0))
    for i in range(3):  # 8 photos and copies re-saved under other names: 32 to embed, 4 batches of 8
        for photo in list(photo_dir.glob("*.jpg"))[:8]:
            Image.open(photo).convert("RGB").rotate(90 * (i + 1), expand=True).save(photo_dir / f"{photo.stem}-{i}.jpg")
    steps: list[tuple[float, Progress]] = []

    def on_progress(p: Progress) -> None:
        if p.phase == "indexing":
            steps.append((time.monotonic(), p))
            if p.done >= 16:
                ahead.set()

    lib = Library(data_dir)
    try:
        lib.catalog.add_folder(str(photo_dir))
        report = Indexer(lib, batch_size=8).run(on_progress=on_progress)
    finally:
        ahead.set()
        lib.close()
    return report, [(bool(loaded_at[0]) and t >= loaded_at[0], p) for t, p in steps]


def test_progress_never_goes_back_while_the_model_loads(data_dir: Path, embedder, photo_dir: Path,  # noqa: ANN001
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Found with `photosim index`: the photos decoded while the model loaded were counted (51/120),
    then the count fell back to the committed ones (8/120) once the model was there."""
    report, steps = _run_with_a_slow_model(data_dir, embedder, photo_dir, monkeypatch, hold=0.0)
    shown = [p.done for _, p in steps]
    assert report.indexed == 32 and shown[-1] == 32
    assert max(shown[:-1]) >= 16  # photos were shown decoded ahead of the model
    assert shown == sorted(shown), shown


def test_time_left_does_not_count_the_model_load_as_slow_work(data_dir: Path, embedder, photo_dir: Path,  # noqa: ANN001
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen in the window on a 407-photo folder: "255 / 407 · 2.0 img/s · 03:19 left" for a run that
    took 14 s, because the rate counted commits and the first commit came after the model's load."""
    report, steps = _run_with_a_slow_model(data_dir, embedder, photo_dir, monkeypatch, hold=3.0)
    after_load = [p for loaded, p in steps if loaded]
    assert report.indexed == 32 and after_load
    # What was left once the model was there takes well under a second on this CPU; the old rate
    # (8 photos committed over the 3 s load) said about 10 s.
    estimates = [p.eta for p in after_load if p.eta is not None and p.done < p.total]
    assert estimates and max(estimates) < 3.0, [(p.done, round(p.rate, 1), p.eta) for p in after_load]


def test_sizes_read_as_a_file_manager_shows_them() -> None:
    """Found in the Duplicates view: a group of two small photos said "0.0 MB to free"."""
    from photosim.core.progress import format_size

    assert [format_size(n) for n in (0, 1, 812, 45_300, 999_400, 1_840_000, 9_960_000, 312_000_000, 2_400_000_000)] == [
        "0 bytes", "1 byte", "812 bytes", "45 KB", "999 KB", "1.8 MB", "10 MB", "312 MB", "2.4 GB"]


def test_a_folder_renamed_with_an_unreadable_file_removes_no_photo(library: Library, photo_dir: Path) -> None:
    """Seen renaming a folder in the app: "1 moved, 3 removed, 3 could not be read" for a folder of one
    photo and three unreadable files. Those files are no photos of the library: they fail again at
    their new place and are counted there; the report's "removed" is for photos that left."""
    odd = photo_dir / "Odd"
    odd.mkdir()
    shutil.move(photo_dir / "rocket.jpg", odd / "rocket.jpg")
    (odd / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    library.catalog.add_folder(str(photo_dir))
    first = _index(library)
    assert first.failed == 1
    odd.rename(photo_dir / "Odd 2")
    report = _index(library)
    assert (report.moved, report.removed, report.failed, report.cleared) == (1, 0, 1, 1)
    assert report.any_change
