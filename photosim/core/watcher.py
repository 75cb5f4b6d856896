"""Watching the library's folders for new, changed, moved and deleted photos.

A thin layer over watchdog that turns a burst of raw file-system events (a camera import writes
hundreds of files, each one created, modified several times, then closed) into a few calls of
``on_changes(paths)``: events are collected until the folders have been quiet for ``debounce``
seconds (or for at most ``max_delay`` seconds in a steady stream), then handed over as one sorted
batch in which no path lies inside another. The callback runs on the watcher's own thread; the GUI
forwards it to the Qt event loop with a queued signal.

Events are a hint, not the truth: inotify watch limits, overflowing queues and network drives drop
them silently, so the service also runs a reconciling scan at start-up and periodically. Folders on
network file systems (NFS, SMB/CIFS, SSHFS...), where inotify sees only this machine's own changes,
and folders where the system refuses a watch (the inotify watch limit on a big tree) are watched by
polling instead: a directory snapshot every :data:`POLL_INTERVAL` seconds, with a note saying so.
A folder that is not there (offline, unplugged) is reported and retried on the next
:meth:`FolderWatcher.watch` call; a watched folder that goes away or comes back (a drive unplugged or
mounted again, which sends no event) is noticed within :data:`ROOT_CHECK_INTERVAL` seconds. Scheduling a big tree takes inotify a while, so the service asks for
it with :meth:`FolderWatcher.request_watch`, which does the work on the watcher's own thread.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from .images import is_image_name
from .paths import is_within, normalize_path
from .scanner import skipped_below

log = logging.getLogger(__name__)

ChangesCallback = Callable[[list[str]], None]
#: Told which folders are not watched by live events (path -> why, and what happens instead).
WatchStateCallback = Callable[[dict[str, str]], None]

POLL_INTERVAL = 60.0
"""Seconds between two polls of a folder that cannot be watched by events (a full directory walk)."""

OFFLINE_NOTE = "folder is offline or missing; its photos are kept"

ROOT_CHECK_INTERVAL = 5.0
"""Seconds between two looks at the watched folders themselves. Unplugging a drive, unmounting a
share or moving a watched folder away sends watchdog no event at all (measured: inotify's unmount and
move-of-the-watch notices are dropped), and the watch is dead from then on; a drive plugged back in
needs a new one. A stat() of each folder this often notices both within seconds."""

#: File systems whose changes made by other machines never reach inotify.
NETWORK_FILE_SYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "sshfs", "9p", "davfs", "fuse.davfs2",
        "fuse.rclone", "afs", "ncpfs", "glusterfs", "fuse.glusterfs", "ceph", "fuse.ceph", "fuse.s3fs",
        "fuse.gvfsd-fuse", "afpfs", "fuse.afpfs",
    }
)


def _unescape_mount(field: str) -> str:
    """/proc/mounts writes spaces, tabs, newlines and backslashes in octal (``\\040``)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit() and len(field[i + 1 : i + 4]) == 3:
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def file_system_type(path: str, mounts_file: str = "/proc/mounts") -> str | None:
    """The type of the file system holding ``path`` (Linux), from the longest matching mount point."""
    try:
        with open(mounts_file, encoding="utf-8", errors="surrogateescape") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    best, best_type = "", None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount, fstype = _unescape_mount(parts[1]), parts[2]
        if is_within(path, mount) and len(mount) >= len(best):
            best, best_type = mount, fstype
    return best_type


def is_network_folder(path: str) -> bool:
    """True for folders on a network file system, where change notifications cannot be trusted."""
    fstype = file_system_type(path)
    return fstype is not None and fstype.lower() in NETWORK_FILE_SYSTEMS

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
    """Debounced, batched change notifications for a set of folders (thread-safe).

    ``poll_folder`` decides which folders are polled rather than watched by events (default: those on
    network file systems); tests pass their own. ``on_state`` hears, after every (re)scheduling, which
    folders are not watched by live events and why.
    """

    def __init__(
        self,
        on_changes: ChangesCallback,
        *,
        debounce: float = 1.0,
        max_delay: float = 10.0,
        excluded: Sequence[str] = (),
        poll_interval: float = POLL_INTERVAL,
        poll_folder: Callable[[str], bool] = is_network_folder,
        on_state: WatchStateCallback | None = None,
        root_check: float = ROOT_CHECK_INTERVAL,
    ) -> None:
        self.on_changes = on_changes
        self.on_state = on_state
        self.debounce = debounce
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.poll_folder = poll_folder
        self.root_check = root_check
        self.excluded = [normalize_path(p) for p in excluded]
        #: Folders not watched by live events: path -> a note for the user (offline, polled...).
        self.unwatched: dict[str, str] = {}
        self._observer = Observer()
        self._observer.daemon = True
        self._poller: PollingObserver | None = None
        self._handler = _Handler(self)
        self._watches: dict[str, tuple[object, object]] = {}  # path -> (observer, watch)
        self._polled: dict[str, str] = {}
        self._roots: tuple[str, ...] = ()  # the folders asked for (events below them are checked against them)
        self._schedule_lock = threading.Lock()
        self._pending: set[str] = set()
        self._first = 0.0
        self._last = 0.0
        self._cond = threading.Condition()
        self._wanted: list[str] | None = None  # a watch request for the watcher's thread
        self._folders: list[str] = []  # the folders last asked for, and what each was then:
        self._identity: dict[str, tuple[int, int] | None] = {}  # (device, inode), None when not there
        self._next_root_check = 0.0
        self._stopped = False
        self._started = False
        self._flusher = threading.Thread(target=self._loop, name="photosim-watch", daemon=True)

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
            self._flusher.join(timeout=30)
            with self._schedule_lock:
                for observer in (self._observer, self._poller):
                    if observer is not None:
                        observer.stop()
                for observer in (self._observer, self._poller):
                    if observer is not None and observer.is_alive():
                        observer.join(timeout=5)
                self._watches.clear()

    def set_excluded(self, excluded: Sequence[str]) -> None:
        self.excluded = [normalize_path(p) for p in excluded]

    def request_watch(self, folders: Iterable[str]) -> None:
        """Like :meth:`watch`, on the watcher's own thread; ``on_state`` hears the outcome."""
        with self._cond:
            self._wanted = [normalize_path(f) for f in folders]
            self._cond.notify_all()

    def watch(self, folders: Iterable[str]) -> dict[str, str]:
        """Watch exactly these folders; returns those not watched by live events, with the reason."""
        wanted = [normalize_path(f) for f in folders]
        self._roots = tuple(wanted)
        with self._schedule_lock:
            if self._stopped:
                return dict(self.unwatched)
            identity = {path: _identity(path) for path in wanted}
            for path in list(self._watches):
                # a folder that is gone, or another one now (a drive mounted again, a folder put back):
                # the old watch sees nothing of it any more
                if path not in wanted or identity[path] is None or identity[path] != self._identity.get(path):
                    observer, handle = self._watches.pop(path)
                    self._polled.pop(path, None)
                    try:
                        observer.unschedule(handle)  # type: ignore[attr-defined]
                    except Exception:  # already gone with its folder
                        pass
            unwatched: dict[str, str] = {}
            for path in wanted:
                if path in self._watches:
                    if path in self._polled:
                        unwatched[path] = self._polled[path]
                    continue
                if not os.path.isdir(path):
                    unwatched[path] = OFFLINE_NOTE
                    continue
                note = self._schedule(path)
                if note:
                    unwatched[path] = note
            self.unwatched = unwatched
            self._folders, self._identity = wanted, identity
        if self.on_state is not None:
            try:
                self.on_state(dict(unwatched))
            except Exception:
                log.exception("watch state callback failed")
        return unwatched

    def _schedule(self, path: str) -> str:
        """Watch one folder by events, else by polling; returns a note when it is polled."""
        if self.poll_folder(path):
            note = f"on a network drive: checked for changes every {self.poll_interval:.0f} s"
            return self._schedule_polling(path, note)
        try:
            self._watches[path] = (self._observer, self._observer.schedule(self._handler, path, recursive=True))
            return ""
        except OSError as exc:  # e.g. the inotify watch limit on a big tree
            log.warning("cannot watch %s for changes (%s); polling it instead", path, exc)
            note = (f"too many folders for change notifications ({exc.strerror or exc}): "
                    f"checked every {self.poll_interval:.0f} s")
            return self._schedule_polling(path, note)

    def _schedule_polling(self, path: str, note: str) -> str:
        if self._poller is None:
            self._poller = PollingObserver(timeout=self.poll_interval)
            self._poller.daemon = True
            self._poller.start()
        try:
            self._watches[path] = (self._poller, self._poller.schedule(self._handler, path, recursive=True))
        except OSError as exc:
            log.warning("cannot poll %s either: %s", path, exc)
            return f"cannot be watched ({exc.strerror or exc}); checked by the periodic scan"
        self._polled[path] = note
        return note

    @property
    def watched(self) -> list[str]:
        return sorted(self._watches)

    @property
    def polled(self) -> list[str]:
        return sorted(self._polled)

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
            if any(skipped_below(path, root) for root in self._roots if is_within(path, root)):
                continue  # inside a hidden folder (a cache, a trash) that a scan never enters either
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

    def _roots_changed(self) -> list[str]:
        """The watched folders that vanished, came back or became another folder since they were
        scheduled (see :data:`ROOT_CHECK_INTERVAL`)."""
        with self._schedule_lock:
            folders, known = list(self._folders), dict(self._identity)
            polled, watched = set(self._polled), set(self._watches)
        changed = []
        for path in folders:
            # Not the polled ones (network shares, trees inotify refused): their poller and the periodic
            # scan look after them, and a stat() of a share whose server went away can block for
            # minutes, which would hold up every other folder's changes on this thread.
            if path in polled or (path not in watched and self.poll_folder(path)):
                continue
            if _identity(path) != known.get(path):
                changed.append(path)
        return changed

    def _check_roots(self) -> None:
        """Watch again what changed under the folders' own paths, and have them scanned: one that
        vanished shows as offline (its photos are kept), one that came back is compared with the
        library (photos added on another computer meanwhile)."""
        changed = self._roots_changed()
        if not changed:
            return
        log.info("watched folders changed on disk (unplugged, mounted, moved): %s", ", ".join(changed))
        with self._schedule_lock:
            folders = list(self._folders)
        self.watch(folders)
        try:
            self.on_changes(changed)
        except Exception:
            log.exception("change callback failed")

    def _loop(self) -> None:
        """The watcher's thread: (re)schedules watches on request, hands over debounced batches, and
        looks at the watched folders themselves every :attr:`root_check` seconds."""
        while True:
            with self._cond:
                while not self._stopped and not self._pending and self._wanted is None:
                    wait = self._next_root_check - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopped:
                    return
                if not self._pending and self._wanted is None:  # the roots are due
                    self._next_root_check = time.monotonic() + self.root_check
                    roots_due = True
                else:
                    roots_due = False
            if roots_due:
                try:
                    self._check_roots()
                except Exception:
                    log.exception("checking the watched folders failed")
                continue
            with self._cond:
                if self._stopped:
                    return
                wanted, self._wanted = self._wanted, None
                batch: list[str] | None = None
                if wanted is None:
                    now = time.monotonic()
                    due = min(self._last + self.debounce, self._first + self.max_delay)
                    if now < due:
                        self._cond.wait(due - now)
                        continue
                    batch = collapse_paths(self._pending)
                    self._pending.clear()
            if wanted is not None:
                try:
                    self.watch(wanted)
                except Exception:
                    log.exception("scheduling folder watches failed")
                continue
            try:
                self.on_changes(batch or [])
            except Exception:  # the callback's problem must not end the watching
                log.exception("change callback failed")


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of a folder, or None when it is not one now."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None
