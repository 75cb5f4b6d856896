"""The library service without any window: requests, events, the query lane, snapshots, watching, polling."""

from __future__ import annotations

import errno
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from photosim.core import events as ev
from photosim.core.service import LibraryService, Query
from photosim.core.snapshot import OFFLINE, UP_TO_DATE
from tests.photos import crop_center, save_jpeg


class Recorder:
    """Collects the service's events (on whichever thread) for the test to wait on."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self._cond = threading.Condition()

    def __call__(self, event: object) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, kind: type) -> list:
        with self._cond:
            return [e for e in self.events if isinstance(e, kind)]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.2))
        return True


@pytest.fixture
def service_factory(library) -> Iterator[Callable[..., tuple[LibraryService, Recorder]]]:  # noqa: ANN001
    made: list[LibraryService] = []

    def make(folders: list[Path] = (), **options: object) -> tuple[LibraryService, Recorder]:
        for folder in folders:
            library.catalog.add_folder(str(folder))
        options.setdefault("watch_debounce", 0.2)
        options.setdefault("background_priority", False)
        service = LibraryService(library, **options)
        recorder = Recorder()
        service.subscribe(recorder)
        made.append(service)
        return service, recorder

    yield make
    for service in made:
        service.stop()


def test_a_folder_added_through_the_service_is_indexed_and_reported_in_order(service_factory, photo_dir) -> None:  # noqa: ANN001
    service, rec = service_factory(watch=False)
    service.start(initial_scan=False)
    service.add_folder(str(photo_dir))
    assert service.wait_idle(120)
    assert rec.wait_for(lambda: bool(rec.of(ev.RunFinished)))
    kinds = [type(e) for e in rec.events]
    assert ev.FoldersChanged in kinds and ev.ModelLoaded in kinds and ev.RunStarted in kinds
    # The run's outcome is announced after a snapshot that already shows it.
    finished = kinds.index(ev.RunFinished)
    shown = [e for e in rec.events[:finished] if isinstance(e, ev.SnapshotPublished)]
    assert shown and shown[-1].snapshot.photos == 8
    snapshot = service.snapshot
    assert snapshot.photos == 8 and snapshot.counts["indexed"] == 8
    assert [(f.path, f.state, f.photos) for f in snapshot.folders] == [(str(photo_dir), UP_TO_DATE, 8)]
    assert not snapshot.ids.flags.writeable  # immutable: safe to hand to another thread
    report = rec.of(ev.RunFinished)[-1].report
    assert report.indexed == 8 and report.failed == 0


def test_the_query_lane_answers_by_event_and_by_future(service_factory, photo_dir, tmp_path) -> None:  # noqa: ANN001
    service, rec = service_factory([photo_dir], watch=False)
    service.start()
    assert service.wait_idle(120)
    query = save_jpeg(crop_center(Image.open(photo_dir / "rocket.jpg").convert("RGB")), tmp_path / "q.jpg")
    token, future = service.submit_query(Query("file", str(query), "q.jpg"), 3)
    answer = future.result(timeout=60)
    assert answer.results[0].path == str(photo_dir / "rocket.jpg") and answer.results[0].match == "same"
    assert answer.same == 1 and answer.header().startswith("1 copy of this photo")
    assert rec.wait_for(lambda: any(e.token == token for e in rec.of(ev.QueryAnswered)))
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photo")
    token, future = service.submit_query(Query("file", str(bad), "bad.jpg"), 3)
    with pytest.raises(Exception, match="cannot use"):
        future.result(timeout=60)
    assert rec.wait_for(lambda: any(e.token == token for e in rec.of(ev.QueryFailed)))


def test_a_new_photo_is_seen_by_the_watcher_and_indexed(service_factory, photo_dir, originals_dir) -> None:  # noqa: ANN001
    service, rec = service_factory([photo_dir])
    service.start()
    assert service.wait_idle(120)
    before = service.snapshot.photos
    shutil.copy(originals_dir / "hubble_deep_field.jpg", photo_dir / "space.jpg")
    assert rec.wait_for(lambda: service.snapshot.photos == before + 1, timeout=60)
    assert str(photo_dir / "space.jpg") in {service.photo(int(i)).path for i in service.snapshot.ids}


def test_photos_in_hidden_folders_and_photosims_own_folders_are_never_indexed(  # noqa: ANN001
        service_factory, library, photo_dir, originals_dir, monkeypatch) -> None:
    """Found trying the app on a library that watched a home folder: photosim indexed its own thumbnail
    cache (~/.cache/photosim) as it wrote it, each new thumbnail a new photo, and would index the trash
    (~/.local/share/Trash) the same way. A scan never enters hidden folders; the watcher and partial
    scans now follow the same rule, and photosim's own folders are left out wherever they are."""
    cache = photo_dir / ".cache" / "photosim" / "thumbnails-v1-320" / "ab"
    cache.mkdir(parents=True)
    trash = photo_dir / ".local" / "share" / "Trash" / "files"
    trash.mkdir(parents=True)
    own = photo_dir / "photosim-cache"  # a cache folder set inside a watched folder, not hidden
    own.mkdir()
    monkeypatch.setenv("PHOTOSIM_CACHE_DIR", str(own))
    service, rec = service_factory([photo_dir])
    service.start()
    assert service.wait_idle(120)
    before = service.snapshot.photos
    src = originals_dir / "hubble_deep_field.jpg"
    for target in (cache / "abcdef.jpg", trash / "deleted.jpg", own / "thumb.jpg", photo_dir / "Trip" / "space.jpg"):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)
    assert rec.wait_for(lambda: service.snapshot.photos == before + 1, timeout=60)
    time.sleep(1.5)  # the watcher's other events had their time too
    assert service.wait_idle(60)
    paths = {service.photo(int(i)).path for i in service.snapshot.ids}
    assert str(photo_dir / "Trip" / "space.jpg") in paths and service.snapshot.photos == before + 1
    # a scan asked for a path inside a hidden folder (a file manager's "refresh") leaves it out too
    service.scan_paths([str(cache / "abcdef.jpg"), str(trash)])
    assert service.wait_idle(60) and service.snapshot.photos == before + 1


def test_the_whole_system_is_not_a_photo_folder(service_factory, photo_dir) -> None:  # noqa: ANN001
    """A folder dropped on the window or added by mistake: / (or /sys) is refused with a clear note,
    never walked; the library goes on with its folders."""
    from photosim.core.events import Noticed

    service, rec = service_factory([photo_dir])
    service.start()
    assert service.wait_idle(120)
    service.add_folder("/")
    service.add_folder("/sys")
    assert rec.wait_for(lambda: len(rec.of(Noticed)) >= 2, timeout=30)
    notes = [e.text for e in rec.of(Noticed)]
    assert notes[0].startswith("Not added: / is the whole system") and "/sys is a system folder" in notes[1]
    assert service.wait_idle(60) and service.folders() == [str(photo_dir)]


def test_a_network_folder_is_polled_and_says_so(service_factory, photo_dir, originals_dir) -> None:  # noqa: ANN001
    """Folders where change events cannot be trusted are polled; new photos still arrive."""
    service, rec = service_factory([photo_dir], poll_folder=lambda path: True, poll_interval=0.5)
    service.start()
    assert service.wait_idle(120)
    assert rec.wait_for(lambda: "every" in (service.snapshot.folders[0].note if service.snapshot.folders else ""))
    assert service.watcher is not None and service.watcher.polled == [str(photo_dir)]
    shutil.copy(originals_dir / "immunohistochemistry.jpg", photo_dir / "slide.jpg")
    assert rec.wait_for(lambda: service.snapshot.photos == 9, timeout=60)


def test_a_folder_inotify_refuses_falls_back_to_polling(service_factory, photo_dir, originals_dir,  # noqa: ANN001
                                                        monkeypatch) -> None:  # noqa: ANN001
    service, rec = service_factory([photo_dir], poll_interval=0.5)
    watcher = service.watcher
    assert watcher is not None

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watcher._observer, "schedule", refuse)
    service.start()
    assert service.wait_idle(120)
    assert rec.wait_for(lambda: "too many folders" in (service.snapshot.folders[0].note if service.snapshot.folders
                                                       else ""))
    shutil.copy(originals_dir / "retina.jpg", photo_dir / "eye.jpg")
    assert rec.wait_for(lambda: service.snapshot.photos == 9, timeout=60)


def test_an_offline_folder_has_one_state_everywhere(service_factory, photo_dir, tmp_path) -> None:  # noqa: ANN001
    drive = tmp_path / "drive"
    shutil.copytree(photo_dir, drive / "photos")
    service, rec = service_factory([drive / "photos"])
    service.start()
    assert service.wait_idle(120)
    shutil.move(str(drive), str(tmp_path / "unplugged"))
    service.scan_all()
    assert service.wait_idle(60)
    assert rec.wait_for(lambda: service.snapshot.folders[0].state == OFFLINE)
    snapshot = service.snapshot
    assert snapshot.photos == 8 and snapshot.offline_folders == [str(drive / "photos")] and snapshot.problems == 1
    assert str(drive / "photos") in rec.of(ev.RunFinished)[-1].report.offline_folders


def test_pause_holds_new_work_and_stop_is_prompt(service_factory, full_photo_dir) -> None:  # noqa: ANN001
    service, rec = service_factory([full_photo_dir], watch=False)
    service.pause()
    service.start()
    time.sleep(2.0)
    assert service.library.catalog.counts()["indexed"] == 0 and service.busy
    assert service.snapshot.paused
    service.resume()
    assert service.wait_idle(180)
    assert service.library.catalog.counts()["indexed"] == len(list(full_photo_dir.glob("*.jpg")))
    started = time.monotonic()
    service.stop()
    assert time.monotonic() - started < 10 and not service.running


def test_a_listener_that_raises_does_not_stop_the_library(service_factory, photo_dir) -> None:  # noqa: ANN001
    service, rec = service_factory([photo_dir], watch=False)

    def broken(event: object) -> None:
        raise RuntimeError("a buggy view")

    service.subscribe(broken)
    service.start()
    assert service.wait_idle(120)
    assert service.snapshot.photos == 8 or rec.wait_for(lambda: service.snapshot.photos == 8)


def test_a_run_with_nothing_to_embed_does_not_wait_for_the_model(data_dir, embedder, photo_dir,  # noqa: ANN001
                                                                monkeypatch) -> None:
    """Found on a first start: with no folder yet, "Looking for new photos…" stayed on the status bar
    until the model had loaded (37 s on a cold disk), because the end of every run asked the model
    whether it gives labels. Here the model's loading is held until the test lets it go: the first
    run (nothing to index) must finish meanwhile; adding a folder then needs the model and gets it."""
    from photosim.core import library as library_module
    from photosim.core.devices import ComputePlan, LoadedModel
    from photosim.core.library import Library

    release = threading.Event()
    loads: list[float] = []

    def held_load(backbone, choice="auto", runtime=None):  # noqa: ANN001, ANN202
        loads.append(time.monotonic())
        assert release.wait(60)
        return LoadedModel(embedder, ComputePlan("cpu", "torch", "cpu"))

    monkeypatch.setattr(library_module, "load_embedder", held_load)
    lib = Library(data_dir)
    service = LibraryService(lib, watch_debounce=0.2, background_priority=False, watch=False)
    rec = Recorder()
    service.subscribe(rec)
    try:
        service.start()
        assert rec.wait_for(lambda: bool(rec.of(ev.RunFinished)), timeout=30)
        assert loads and not lib.has_embedder  # the model was still loading when the run finished
        release.set()
        service.add_folder(str(photo_dir))
        assert rec.wait_for(lambda: any(e.report.indexed == 8 for e in rec.of(ev.RunFinished)), timeout=120)
    finally:
        release.set()
        service.stop()
        lib.close()


def test_an_unplugged_drive_goes_offline_and_comes_back_without_waiting_for_the_periodic_scan(
        service_factory, photo_dir, originals_dir, tmp_path) -> None:  # noqa: ANN001
    """Found trying the app: unplugging a drive (or moving a watched folder away) sends the watcher no
    event at all, so the folder said "up to date" for up to ten minutes, and the dead watch missed
    what was copied to the drive once it was back."""
    drive = tmp_path / "drive"
    shutil.copytree(photo_dir, drive)
    service, rec = service_factory([drive], root_check=0.2, reconcile_interval=None)
    service.start()
    assert service.wait_idle(120)
    assert service.snapshot.folders[0].state == UP_TO_DATE and service.snapshot.photos == 8
    shutil.move(str(drive), str(tmp_path / "unplugged"))
    assert rec.wait_for(lambda: service.snapshot.folders[0].state == OFFLINE, timeout=30)
    assert service.wait_idle(60)
    assert service.snapshot.photos == 8  # kept
    # back, with a photo added on another computer meanwhile: seen without any scan being asked for
    shutil.copy(originals_dir / "hubble_deep_field.jpg", tmp_path / "unplugged" / "space.jpg")
    shutil.move(str(tmp_path / "unplugged"), str(drive))
    assert rec.wait_for(lambda: service.snapshot.photos == 9 and service.snapshot.folders[0].state == UP_TO_DATE,
                        timeout=60)
    # and the new watch works: a photo copied in now arrives as an event
    shutil.copy(originals_dir / "retina.jpg", drive / "eye.jpg")
    assert rec.wait_for(lambda: service.snapshot.photos == 10, timeout=60)


def test_the_empty_mount_point_of_an_unmounted_drive_keeps_its_photos(service_factory, photo_dir,  # noqa: ANN001
                                                                      tmpfs) -> None:
    """A drive mounted at a fixed place (an fstab entry, a NAS share at /mnt/photos) leaves an empty
    folder behind when it is not mounted. Scanned as it is, every photo of the drive left the library
    (a re-index of the whole drive when it came back). A real file system, unmounted and mounted
    again; the watcher notices both by itself (no event comes for either)."""
    for f in photo_dir.iterdir():
        shutil.copy2(f, tmpfs / f.name)
    service, rec = service_factory([tmpfs], root_check=0.2, reconcile_interval=None)
    service.start()
    assert service.wait_idle(120)
    ids = set(service.snapshot.ids.tolist())
    assert len(ids) == 8
    assert subprocess.run(["umount", str(tmpfs)]).returncode == 0
    assert rec.wait_for(lambda: service.snapshot.folders[0].state == OFFLINE)
    assert service.wait_idle(60)
    assert set(service.snapshot.ids.tolist()) == ids
    assert service.snapshot.folders[0].note == ("folder is empty: the drive it was on is not mounted; "
                                                "its photos are kept until it is removed")
    assert str(tmpfs) in rec.of(ev.RunFinished)[-1].report.offline_folders
    assert subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(tmpfs)]).returncode == 0
    for f in photo_dir.iterdir():  # mounted again: the same photos, nothing re-indexed
        shutil.copy2(f, tmpfs / f.name)
    assert rec.wait_for(lambda: service.snapshot.folders[0].state == UP_TO_DATE)
    assert service.wait_idle(60)
    assert set(service.snapshot.ids.tolist()) == ids and rec.of(ev.RunFinished)[-1].report.indexed == 0


def test_photos_moved_out_of_a_watched_folder_leave_the_library(service_factory, photo_dir,  # noqa: ANN001
                                                                tmp_path) -> None:
    """Found trying the app: moving every photo out of a watched folder (a phone folder offloaded to
    an archive) kept them all as "offline" photos that no longer exist. The folder is still on the
    file system they were found on, so it was emptied by hand."""
    phone = tmp_path / "phone"
    shutil.copytree(photo_dir, phone)
    service, rec = service_factory([phone], reconcile_interval=None)
    service.start()
    assert service.wait_idle(120) and service.snapshot.photos == 8
    archive = tmp_path / "archive"
    archive.mkdir()
    for entry in list(phone.iterdir()):
        shutil.move(str(entry), str(archive / entry.name))
    assert rec.wait_for(lambda: service.snapshot.photos == 0, timeout=60)
    assert service.wait_idle(60)
    assert service.snapshot.folders[0].state == UP_TO_DATE and not service.snapshot.folders[0].note
    service.scan_all()  # and a full scan agrees
    assert service.wait_idle(60)
    assert service.snapshot.photos == 0 and service.snapshot.folders[0].state == UP_TO_DATE


def test_a_full_scan_prunes_the_thumbnail_cache_once_a_day(service_factory, photo_dir, library) -> None:  # noqa: ANN001
    """Long use: the thumbnails of photos edited, moved or deleted since stayed in the cache for good."""
    import os

    from photosim.core.paths import resolve_cache_dir
    from photosim.core.thumbnails import ThumbnailCache

    cache = ThumbnailCache(resolve_cache_dir(library.data_dir))
    shown = photo_dir / "chelsea.jpg"
    kept = cache.file_for(str(shown), shown.stat().st_size, shown.stat().st_mtime_ns)
    stale = cache.file_for(str(photo_dir / "deleted long ago.jpg"), 1, 1)
    for f in (kept, stale):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"a thumbnail")
        os.utime(f, (1, 1))  # made long ago
    service, rec = service_factory([photo_dir], reconcile_interval=None)
    service.start()
    assert service.wait_idle(120) and service.snapshot.photos == 8
    assert kept.exists() and not stale.exists() and not cache.prune_due()
    stale.write_bytes(b"another")
    os.utime(stale, (1, 1))
    service.scan_all()  # the next full scan the same day leaves the cache alone
    assert service.wait_idle(60)
    assert stale.exists()
