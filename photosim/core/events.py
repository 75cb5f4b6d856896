"""What the library service tells its listeners, as plain immutable values.

A listener is any callable taking one event; it runs on the service thread that produced the event,
so it must be quick and must not block (the desktop app's bridge re-emits each event as a Qt signal,
which Qt queues to the GUI thread; the command line prints). Event names are past-tense facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .progress import Progress

if TYPE_CHECKING:
    from .cleanup import ActionResult
    from .dupstate import DuplicateState
    from .indexer import IndexReport
    from .snapshot import LibrarySnapshot


@dataclass(frozen=True)
class ModelLoaded:
    """The model is ready; ``notice`` says why it runs somewhere else than asked (a GPU fall-back)."""

    device: str
    runtime: str
    notice: str | None = None


@dataclass(frozen=True)
class RunStarted:
    """An indexing run began; ``full`` for a scan of every folder, else the paths a watcher saw."""

    full: bool


@dataclass(frozen=True)
class Progressed:
    """How far the current run is (at most a few a second)."""

    progress: Progress


@dataclass(frozen=True)
class RunFinished:
    """A run ended; sent after the snapshot that shows its outcome."""

    report: IndexReport


@dataclass(frozen=True)
class FoldersChanged:
    """A folder was added or removed; ``folders`` is the new list."""

    folders: tuple[str, ...]


@dataclass(frozen=True)
class SnapshotPublished:
    snapshot: LibrarySnapshot


@dataclass(frozen=True)
class Noticed:
    """Something the user should read (not an error)."""

    text: str


@dataclass(frozen=True)
class Failed:
    """An unexpected error ended a piece of work; the service goes on. ``details`` is the traceback."""

    message: str
    details: str


@dataclass(frozen=True)
class CatalogDamaged:
    """The catalog file turned out to be damaged; writing stopped until it is repaired."""

    message: str


@dataclass(frozen=True)
class QueryAnswered:
    token: int
    results: Any  # list[SearchResult], or a richer result set


@dataclass(frozen=True)
class QueryFailed:
    """``details`` is a traceback for unexpected errors, empty when the engine refused the query."""

    token: int
    message: str
    details: str = ""


@dataclass(frozen=True)
class DuplicatesChanged:
    """The duplicate groups changed (a pass finished, an indexing run or a clean-up touched them);
    ``state`` is the new immutable :class:`~photosim.core.dupstate.DuplicateState`."""

    state: DuplicateState


@dataclass(frozen=True)
class DuplicatesProgressed:
    """How far a duplicate pass is (phase "duplicates: neighbours", "...: checking pairs", ...)."""

    progress: Progress


@dataclass(frozen=True)
class CleanedUp:
    """A clean-up action (trash, move, a decision) or an undo finished; ``result.summary()`` says what
    it did and what it refused (files in a reference folder, files that were gone)."""

    result: ActionResult


ServiceEvent = (
    ModelLoaded | RunStarted | Progressed | RunFinished | FoldersChanged | SnapshotPublished | Noticed | Failed
    | CatalogDamaged | QueryAnswered | QueryFailed | DuplicatesChanged | DuplicatesProgressed | CleanedUp
)
Listener = Callable[[ServiceEvent], None]
