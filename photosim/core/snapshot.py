"""What a view shows about a running library, as immutable snapshots.

The library service publishes a :class:`LibrarySnapshot` whenever something a view shows has changed
(photos added or removed, a folder's state, progress): every indexed id newest first, the folders
with their counts and states, the totals. Views never query the catalog for these; they draw the
latest snapshot. Being immutable, a snapshot can cross threads freely.

:func:`folder_states` is the one place that decides a folder's state, "offline" included: a folder
is offline when its path is not a folder now (or an empty one that held photos: an unmounted drive's
mount point; see :func:`photosim.core.paths.folder_offline`), whatever the last scan or the watcher saw.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .catalog import Folder
from .paths import folder_offline, is_within, offline_reason
from .progress import Progress
from .watcher import OFFLINE_NOTE

INDEXING, UP_TO_DATE, OFFLINE, ERRORS, WAITING = "indexing", "up to date", "offline", "errors", "waiting"
KEPT = "its photos are kept until it is removed"
"""The end of an empty folder's note: an empty folder that held photos and is no longer on the file
system they were found on counts as offline (see :func:`photosim.core.paths.folder_offline`); its
note says why (:func:`photosim.core.paths.offline_reason`), since the folder itself is there."""
FOLDER_STATES = (INDEXING, UP_TO_DATE, OFFLINE, ERRORS, WAITING)


@dataclass(frozen=True)
class FolderState:
    """One watched folder as the user sees it."""

    path: str
    photos: int
    failed: int
    pending: int
    state: str
    note: str = ""
    folder_id: int = 0
    subfolders: tuple[tuple[str, int], ...] = ()
    """The folders inside this one that hold photos, at every depth: (path relative to this folder,
    photos in it and below it), parents before their children, by name ("2019", "2019/Holiday")."""

    @property
    def online(self) -> bool:
        return self.state != OFFLINE


def folder_states(
    folders: Sequence[Folder],
    counts: Mapping[int, Mapping[str, int]],
    notes: Mapping[str, str],
    *,
    busy: bool,
    current: str | None = None,
) -> tuple[FolderState, ...]:
    """Each folder's counts and state; ``notes`` are the watcher's (polled, cannot be watched...)."""
    out = []
    for folder in folders:
        c = counts.get(folder.id, {})
        indexed, failed, pending = c.get("indexed", 0), c.get("failed", 0), c.get("pending", 0)
        note = notes.get(folder.path, "")
        if folder_offline(folder.path, holds_photos=indexed + failed + pending > 0, device=folder.device):
            state = OFFLINE
            note = (OFFLINE_NOTE if not os.path.isdir(folder.path)
                    else f"{offline_reason(folder.path, folder.device)}; {KEPT}")
        else:
            if note == OFFLINE_NOTE or note.endswith(KEPT):  # the watcher's view is older than this check
                note = ""
            if busy and (pending or (current is not None and is_within(current, folder.path))):
                state = INDEXING
            elif pending:
                state = WAITING
            elif failed:
                state = ERRORS
            else:
                state = UP_TO_DATE
        out.append(FolderState(folder.path, indexed, failed, pending, state, note, folder.id))
    return tuple(out)


class SubfolderIndex:
    """Which folder inside its watched folder each photo lies in (for the folders panel's
    subfolders), remembered by photo id between snapshots.

    A snapshot is re-read every few seconds while a run indexes; reading every photo's path each
    time cost 100 ms more per snapshot at 100,000 photos (measured: ids alone 75 ms, with paths 170).
    A photo keeps its id when it is moved, so each is remembered with the time its row last changed
    (the catalog's ``updated_at``): only photos not seen before, or changed since, are read again.
    The memory is forgotten when the watched folders change (a folder adopted by its parent moves
    its photos one level down).
    """

    def __init__(self) -> None:
        self._roots: dict[int, str] = {}
        self._where: dict[int, tuple[float, tuple[int, bytes] | None]] = {}

    def codes(self, ids: np.ndarray, stamps: np.ndarray, roots: Mapping[int, str],
              stored_paths: Callable[[Sequence[int] | None], list[tuple[int, int, bytes]]]
              ) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """A code per photo of ``ids`` (``stamps``: when each row last changed): an index into the
        returned (watched folder id, folder relative to it) pairs, or -1 for a photo directly in its
        watched folder."""
        if dict(roots) != self._roots:
            self._roots = dict(roots)
            self._where.clear()
        listed, times = ids.tolist(), stamps.tolist()
        where = self._where
        missing = [i for i, t in zip(listed, times, strict=True) if (w := where.get(i)) is None or w[0] != t]
        if missing:
            stamp_of = dict(zip(listed, times, strict=True))
            prefixes = {fid: os.fsencode(path).rstrip(b"/") + b"/" for fid, path in roots.items()}
            for pid, fid, raw in stored_paths(None if len(missing) > len(listed) // 2 else missing):
                prefix = prefixes.get(fid)
                cut = raw.rfind(b"/") if prefix is not None and raw.startswith(prefix) else -1
                where[pid] = (stamp_of.get(pid, -1.0),
                              (fid, raw[len(prefix) : cut]) if prefix is not None and cut >= len(prefix) else None)
        if len(where) > 2 * len(listed) + 1000:  # photos gone: forget them
            keep = set(listed)
            self._where = where = {k: v for k, v in where.items() if k in keep}
        known: dict[tuple[int, bytes], int] = {}
        codes = np.fromiter(((-1 if (w := where.get(i)) is None or w[1] is None else known.setdefault(w[1], len(known)))
                             for i in listed), dtype=np.int32, count=len(listed))
        return codes, [(fid, os.fsdecode(name)) for fid, name in known]


def _relative(folder: str, root: str) -> str:
    """``folder`` relative to ``root`` ("2019/Holiday"), or "" when it is not inside it."""
    return os.path.relpath(folder, root) if folder != root and is_within(folder, root) else ""


def _frozen_ids(ids: np.ndarray | None) -> np.ndarray:
    arr = np.zeros(0, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
    arr = arr.copy() if arr.flags.writeable and ids is not None else arr
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True)
class LibrarySnapshot:
    """The library at one moment: ids newest first, folders and their states, totals, progress."""

    ids: np.ndarray = field(default_factory=lambda: _frozen_ids(None))
    folders: tuple[FolderState, ...] = ()
    #: The watched folder of each photo of ``ids`` (same order); see :meth:`ids_in`.
    folder_ids: np.ndarray = field(default_factory=lambda: _frozen_ids(None))
    #: Each photo's subfolder (an index into ``subfolder_keys``; -1: directly in its watched folder).
    subfolder_ids: np.ndarray = field(default_factory=lambda: _frozen_ids(None))
    #: (watched folder id, the photo's folder relative to it), by subfolder index.
    subfolder_keys: tuple[tuple[int, str], ...] = ()
    counts: Mapping[str, int] = field(default_factory=lambda: {"pending": 0, "indexed": 0, "failed": 0})
    progress: Progress | None = None
    busy: bool = False
    paused: bool = False
    device: str | None = None
    #: Increases with every published snapshot (a view can tell new from old).
    serial: int = 0

    @property
    def photos(self) -> int:
        return len(self.ids)

    def ids_in(self, folder: str) -> np.ndarray:
        """The photos of a watched folder or of a folder inside one, its subfolders' included,
        newest first; empty for any other folder."""
        if len(self.folder_ids) != len(self.ids):
            return _frozen_ids(None)
        for state in self.folders:
            if folder == state.path:
                return _frozen_ids(self.ids[self.folder_ids == state.folder_id])
            rel = _relative(folder, state.path)
            if rel and len(self.subfolder_ids) == len(self.ids):
                codes = [code for code, (fid, where) in enumerate(self.subfolder_keys)
                         if fid == state.folder_id and (where == rel or where.startswith(rel + "/"))]
                return _frozen_ids(self.ids[np.isin(self.subfolder_ids, codes)])
        return _frozen_ids(None)

    def folders_of(self, photo_ids: np.ndarray | Sequence[int]) -> dict[int, str]:
        """The folder each of these photos is in (its own folder, not the watched one above it);
        photos not in the snapshot are left out."""
        if len(self.folder_ids) != len(self.ids) or len(self.subfolder_ids) != len(self.ids):
            return {}
        roots = {state.folder_id: state.path for state in self.folders}
        rows = np.flatnonzero(np.isin(self.ids, np.asarray(photo_ids, dtype=self.ids.dtype)))
        out: dict[int, str] = {}
        for row in rows.tolist():
            root = roots.get(int(self.folder_ids[row]))
            if root is None:
                continue
            code = int(self.subfolder_ids[row])
            out[int(self.ids[row])] = root if code < 0 else os.path.join(root, self.subfolder_keys[code][1])
        return out

    def renamed(self, folder: str, before: LibrarySnapshot) -> str | None:
        """Where ``folder`` (a folder of ``before`` that this snapshot no longer has) went: renamed or
        moved with its photos, the folder that now holds at least half of them at the same place
        below it; None when its photos left or scattered."""
        old = before.folders_of(before.ids_in(folder))
        if not old:
            return None
        now = self.folders_of(np.fromiter(old, dtype=np.int64))
        votes: Counter[str] = Counter()
        for photo_id, was in old.items():
            tail = was[len(folder):]  # "" or "/Birds"
            where = now.get(photo_id)
            if where is not None and where.endswith(tail) and where != was:
                votes[where[: len(where) - len(tail)]] += 1
        if not votes:
            return None
        place, n = votes.most_common(1)[0]
        return place if n * 2 >= len(old) else None

    @property
    def failed(self) -> int:
        return int(self.counts.get("failed", 0))

    @property
    def offline_folders(self) -> list[str]:
        return [f.path for f in self.folders if f.state == OFFLINE]

    @property
    def problems(self) -> int:
        """What the problems button counts: photos that could not be read and folders out of reach."""
        return self.failed + len(self.offline_folders)


def make_snapshot(
    ids: np.ndarray,
    folders: Sequence[Folder],
    folder_counts: Mapping[int, Mapping[str, int]],
    notes: Mapping[str, str],
    *,
    progress: Progress | None,
    busy: bool,
    paused: bool,
    device: str | None,
    serial: int,
    folder_ids: np.ndarray | None = None,
    subfolder_ids: np.ndarray | None = None,
    subfolders: Sequence[tuple[int, str]] = (),
) -> LibrarySnapshot:
    totals = {"pending": 0, "indexed": 0, "failed": 0}
    for c in folder_counts.values():
        for key in totals:
            totals[key] += int(c.get(key, 0))
    current = progress.current if progress is not None and busy else None
    states = folder_states(folders, folder_counts, notes, busy=busy, current=current)
    codes = np.zeros(0, dtype=np.int32) if subfolder_ids is None else np.asarray(subfolder_ids)
    if len(subfolders) and len(codes):
        counts = np.bincount(codes[codes >= 0], minlength=len(subfolders))
        below: dict[int, dict[str, int]] = {}
        for (fid, where), count in zip(subfolders, counts.tolist(), strict=True):
            if not count:
                continue
            inside = below.setdefault(fid, {})
            parts = where.split("/")
            for depth in range(1, len(parts) + 1):  # a folder counts its subfolders' photos too
                key = "/".join(parts[:depth])
                inside[key] = inside.get(key, 0) + int(count)
        states = tuple(replace(s, subfolders=tuple(sorted(below.get(s.folder_id, {}).items(),
                                                          key=lambda sc: sc[0].lower().split("/"))))
                       for s in states)
    return LibrarySnapshot(
        ids=_frozen_ids(ids),
        folder_ids=_frozen_ids(folder_ids),
        subfolder_ids=_frozen_ids(codes),
        subfolder_keys=tuple(subfolders),
        folders=states,
        counts=totals,
        progress=progress,
        busy=busy,
        paused=paused,
        device=device,
        serial=serial,
    )
