"""Watching the library's folders for new, changed, moved and deleted photos.

A thin layer over watchdog that turns a burst of raw file-system events (a camera import writes
hundreds of files, each one created, modified several times, then closed) into a few calls of
``on_changes(paths)``: events are collected until the folders have been quiet for ``debounce``
seconds (or for at most ``max_delay`` seconds in a steady stream), then handed over as one sorted
batch in which no path lies inside another. The callback runs on the watcher's own thread; the GUI
forwards it to the Qt event loop with a queued signal.

Events are a hint, not the truth: inotify watch limits, overflowing queues and network drives drop
them silently, so the app also runs a reconciling scan at start-up and periodically. A folder that
cannot be watched (missing, offline, over the watch limit) is reported in :attr:`unwatched` and
retried on the next :meth:`FolderWatcher.watch` call.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .images import is_image_name
from .paths import is_within, normalize_path

log = logging.getLogger(__name__)

ChangesCallback = Callable[[list[str]], None]

_RELEVANT = {"created", "modified", "moved", "deleted", "closed"}


def collapse_paths(paths: Iterable[str]) -> list[str]:
    """Sorted paths with every path that lies inside another one dropped (the outer one covers it)."""
    out: list[str] = []
    for path in sorted(set(paths)):
        if out and is_within(path, out[-1]):
            continue
        # Sorting puts "/a/b" before "/a/b c" and "/a/b/x"; only a prefix match plus separator counts.
        out.append(path)
    # A later sibling may still be inside an earlier, non-adjacent folder ("/a", "/a b", "/a/x").
    result: list[str] = []
    for path in out:
        if not any(is_within(path, other) for other in result):
            result.append(path)
    return result


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _RELEVANT:
            return
        if event.is_directory and event.event_type in ("modified", "closed"):
            return  # a folder's own time changed: the files inside report themselves
        paths = [event.src_path]
        if event.event_type == "moved" and getattr(event, "dest_path", ""):
            paths.append(event.dest_path)
        self.watcher._note(paths, event.is_directory)


class FolderWatcher:
    """Debounced, batched change notifications for a set of folders (thread-safe)."""

    def __init__(
        self,
        on_changes: ChangesCallback,
        *,
        debounce: float = 1.0,
        max_delay: float = 10.0,
        excluded: Sequence[str] = (),
    ) -> None:
        self.on_changes = on_changes
        self.debounce = debounce
        self.max_delay = max_delay
        self.excluded = [normalize_path(p) for p in excluded]
        self.unwatched: dict[str, str] = {}
        self._observer = Observer()
        self._observer.daemon = True
        self._handler = _Handler(self)
        self._watches: dict[str, object] = {}
        self._pending: set[str] = set()
        self._first = 0.0
        self._last = 0.0
        self._cond = threading.Condition()
        self._stopped = False
        self._started = False
        self._flusher = threading.Thread(target=self._flush_loop, name="photosim-watch-flush", daemon=True)

    # -- control -----------------------------------------------------------------------------
    def start(self) -> None:
        if not self._started:
            self._started = True
            self._observer.start()
            self._flusher.start()

    def stop(self) -> None:
        """Stop watching; pending changes are dropped (the next start-up scan catches them)."""
        with self._cond:
            self._stopped = True
            self._pending.clear()
            self._cond.notify_all()
        if self._started:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._flusher.join(timeout=5)

    def set_excluded(self, excluded: Sequence[str]) -> None:
        self.excluded = [normalize_path(p) for p in excluded]

    def watch(self, folders: Iterable[str]) -> dict[str, str]:
        """Watch exactly these folders; returns the ones that cannot be watched, with the reason."""
        wanted = [normalize_path(f) for f in folders]
        for path in list(self._watches):
            if path not in wanted or not os.path.isdir(path):
                try:
                    self._observer.unschedule(self._watches.pop(path))  # type: ignore[arg-type]
                except Exception:  # already gone with its folder
                    pass
        unwatched: dict[str, str] = {}
        for path in wanted:
            if path in self._watches:
                continue
            if not os.path.isdir(path):
                unwatched[path] = "folder is offline or missing"
                continue
            try:
                self._watches[path] = self._observer.schedule(self._handler, path, recursive=True)
            except OSError as exc:  # e.g. the inotify watch limit: the periodic scan covers it
                unwatched[path] = f"cannot watch for changes ({exc.strerror or exc}); checked periodically instead"
                log.warning("cannot watch %s: %s", path, exc)
        self.unwatched = unwatched
        return unwatched

    @property
    def watched(self) -> list[str]:
        return sorted(self._watches)

    # -- events ------------------------------------------------------------------------------
    def _note(self, raw_paths: Sequence[str | bytes], is_directory: bool) -> None:
        paths = []
        for raw in raw_paths:
            path = normalize_path(os.fsdecode(raw))
            name = os.path.basename(path)
            if name.startswith("."):
                continue  # hidden files, editors' and downloaders' temporary files
            if not is_directory and not is_image_name(name):
                continue
            if any(is_within(path, ex) for ex in self.excluded):
                continue
            paths.append(path)
        if not paths:
            return
        now = time.monotonic()
        with self._cond:
            if self._stopped:
                return
            if not self._pending:
                self._first = now
            self._pending.update(paths)
            self._last = now
            self._cond.notify_all()

    def _flush_loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and not self._pending:
                    self._cond.wait()
                if self._stopped:
                    return
                now = time.monotonic()
                due = min(self._last + self.debounce, self._first + self.max_delay)
                if now < due:
                    self._cond.wait(due - now)
                    continue
                batch = collapse_paths(self._pending)
                self._pending.clear()
            try:
                self.on_changes(batch)
            except Exception:  # the callback's problem must not end the watching
                log.exception("change callback failed")
