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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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
        """The photos of one watched folder, newest first (empty for a folder not watched)."""
        wanted = [f.folder_id for f in self.folders if f.path == folder]
        if not wanted or len(self.folder_ids) != len(self.ids):
            return _frozen_ids(None)
        return _frozen_ids(self.ids[self.folder_ids == wanted[0]])

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
) -> LibrarySnapshot:
    totals = {"pending": 0, "indexed": 0, "failed": 0}
    for c in folder_counts.values():
        for key in totals:
            totals[key] += int(c.get(key, 0))
    current = progress.current if progress is not None and busy else None
    return LibrarySnapshot(
        ids=_frozen_ids(ids),
        folder_ids=_frozen_ids(folder_ids),
        folders=folder_states(folders, folder_counts, notes, busy=busy, current=current),
        counts=totals,
        progress=progress,
        busy=busy,
        paused=paused,
        device=device,
        serial=serial,
    )
