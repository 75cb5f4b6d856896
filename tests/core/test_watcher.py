"""The folder watcher: real watchdog events, debounced into few batches; offline folders reported."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from photosim.core.scanner import skipped_below
from photosim.core.watcher import FolderWatcher, collapse_paths


class Collector:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.event = threading.Event()

    def __call__(self, paths: list[str]) -> None:
        self.batches.append(paths)
        self.event.set()

    def wait_for(self, predicate, timeout: float = 20.0) -> bool:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return predicate()

    @property
    def seen(self) -> set[str]:
        return {p for batch in self.batches for p in batch}


def test_collapse_drops_paths_inside_others() -> None:
    assert collapse_paths(["/a/b/c.jpg", "/a/b", "/a/bc.jpg", "/x.jpg", "/a/b/d/e.jpg", "/a/b"]) == [
        "/a/b", "/a/bc.jpg", "/x.jpg"]
    assert collapse_paths(["/a", "/a b/x.jpg", "/a/x.jpg"]) == ["/a", "/a b/x.jpg"]


def test_paths_below_hidden_or_system_folders_are_skipped() -> None:
    root = "/home/ann"
    assert skipped_below("/home/ann/.cache/photosim/thumbnails/ab/c.jpg", root)
    assert skipped_below("/home/ann/.local/share/Trash/files/x.jpg", root)
    assert skipped_below("/home/ann/Pictures/.hidden.jpg", root)
    assert skipped_below("/home/ann/NAS/@eaDir/x.jpg/SYNOPHOTO_THUMB_XL.jpg", root)
    assert not skipped_below("/home/ann/Pictures/2019/a.jpg", root)
    assert not skipped_below("/home/ann/Pictures/node_modules.jpg", root)  # a file may have that name
    assert not skipped_below("/home/.ann/Pictures/a.jpg", "/home/.ann")  # a watched folder may be hidden itself
    assert not skipped_below("/elsewhere/.cache/a.jpg", root)


def test_a_burst_of_new_photos_arrives_as_one_batch(tmp_path: Path, originals_dir: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    got = Collector()
    watcher = FolderWatcher(got, debounce=0.5)
    watcher.start()
    try:
        assert watcher.watch([str(watched)]) == {}
        sources = sorted(originals_dir.glob("*.jpg"))[:5]
        for src in sources:
            shutil.copy(src, watched / src.name)  # created, modified, closed: many raw events each
        (watched / "notes.txt").write_text("not a photo")
        (watched / ".hidden.jpg").write_bytes(b"x")
        assert got.wait_for(lambda: len(got.seen) >= 5)
        time.sleep(1.0)
        assert got.seen == {str(watched / s.name) for s in sources}
        assert len(got.batches) <= 2  # debounced: not one call per raw event
    finally:
        watcher.stop()


def test_moves_deletes_and_new_folders_are_reported(tmp_path: Path, originals_dir: Path) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    photo = watched / "a.jpg"
    shutil.copy(sorted(originals_dir.glob("*.jpg"))[0], photo)
    got = Collector()
    watcher = FolderWatcher(got, debounce=0.3)
    watcher.start()
    try:
        watcher.watch([str(watched)])
        photo.rename(watched / "b.jpg")
        assert got.wait_for(lambda: {str(photo), str(watched / "b.jpg")} <= got.seen)
        (watched / "b.jpg").unlink()
        sub = tmp_path / "staging"
        sub.mkdir()
        shutil.copy(sorted(originals_dir.glob("*.jpg"))[1], sub / "c.jpg")
        shutil.move(str(sub), str(watched / "trip"))  # a whole folder moved in
        assert got.wait_for(lambda: str(watched / "trip") in got.seen or str(watched / "trip" / "c.jpg") in got.seen)
        assert str(watched / "b.jpg") in got.seen
    finally:
        watcher.stop()


def test_excluded_folders_and_missing_folders(tmp_path: Path, originals_dir: Path) -> None:
    watched = tmp_path / "watched"
    (watched / "private").mkdir(parents=True)
    got = Collector()
    watcher = FolderWatcher(got, debounce=0.2, excluded=[str(watched / "private")])
    watcher.start()
    try:
        missing = str(tmp_path / "unplugged-drive")
        unwatched = watcher.watch([str(watched), missing])
        assert list(unwatched) == [missing] and "offline" in unwatched[missing]
        assert watcher.watched == [str(watched)]
        src = sorted(originals_dir.glob("*.jpg"))[0]
        shutil.copy(src, watched / "private" / "secret.jpg")
        shutil.copy(src, watched / "public.jpg")
        assert got.wait_for(lambda: str(watched / "public.jpg") in got.seen)
        time.sleep(0.5)
        assert not any("secret" in p for p in got.seen)
        # the drive comes back: the next watch() call (the app's periodic check) picks it up
        Path(missing).mkdir()
        assert watcher.watch([str(watched), missing]) == {}
        shutil.copy(src, Path(missing) / "back.jpg")
        assert got.wait_for(lambda: str(Path(missing) / "back.jpg") in got.seen)
    finally:
        watcher.stop()


def test_a_failing_callback_does_not_stop_the_watcher(tmp_path: Path, originals_dir: Path) -> None:
    calls: list[list[str]] = []

    def flaky(paths: list[str]) -> None:
        calls.append(paths)
        if len(calls) == 1:
            raise RuntimeError("boom")

    watcher = FolderWatcher(flaky, debounce=0.2)
    watcher.start()
    try:
        watcher.watch([str(tmp_path)])
        src = sorted(originals_dir.glob("*.jpg"))[0]
        shutil.copy(src, tmp_path / "one.jpg")
        deadline = time.monotonic() + 20
        while len(calls) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        shutil.copy(src, tmp_path / "two.jpg")
        while not any(str(tmp_path / "two.jpg") in c for c in calls) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(str(tmp_path / "two.jpg") in c for c in calls)
    finally:
        watcher.stop()


def test_polled_folders_are_left_out_of_the_folder_check(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """The watched folders are looked at every few seconds (an unplugged drive sends no event), but
    not the polled ones: a stat() of a network share whose server went away can block for minutes,
    and would hold up every other folder's changes."""
    import photosim.core.watcher as watcher_module

    looked: list[str] = []
    real = watcher_module._identity
    monkeypatch.setattr(watcher_module, "_identity", lambda path: looked.append(path) or real(path))
    local, share = tmp_path / "local", tmp_path / "share"
    local.mkdir()
    share.mkdir()
    watcher = FolderWatcher(Collector(), debounce=0.2, root_check=0.05, poll_folder=lambda path: path == str(share))
    watcher.start()
    try:
        watcher.watch([str(local), str(share)])
        assert watcher.polled == [str(share)]
        looked.clear()
        time.sleep(0.6)
        assert looked.count(str(local)) >= 3 and str(share) not in looked
    finally:
        watcher.stop()
