"""The one bridge between the Qt-free library service and the GUI thread.

The service calls its listeners on its own threads (writer, query, snapshot). The bridge is such a
listener: it re-emits each event as a Qt signal of an object that lives in the GUI thread, and Qt
queues a signal emitted from another thread to the receiver's thread. So every slot the presenters
connect here runs on the GUI thread, in the order the service produced the events.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..core import events as ev
from ..core.service import LibraryService


class ServiceBridge(QObject):
    """Re-emits the service's events as signals, on the GUI thread.

    Signals:
        model_loaded(object): a :class:`~photosim.core.events.ModelLoaded`.
        run_started(bool): an indexing run began (True: a scan of every folder).
        progressed(object): a :class:`~photosim.core.progress.Progress`.
        run_finished(object): a run's :class:`~photosim.core.indexer.IndexReport` (after its snapshot).
        folders_changed(object): the tuple of watched folders after an add or a remove.
        snapshot_published(object): a new :class:`~photosim.core.snapshot.LibrarySnapshot`.
        noticed(str): a message for the status bar.
        failed(str, str): an unexpected error: a one-line message and the traceback.
        catalog_damaged(str): the catalog needs a repair; writing stopped.
        query_answered(int, object): a query's token and its results.
        query_failed(int, str, str): a query's token, a one-line message, a traceback (may be empty).
        duplicates_changed(object): a new :class:`~photosim.core.dupstate.DuplicateState`.
        duplicates_progressed(object): a duplicate pass's :class:`~photosim.core.progress.Progress`.
        cleaned_up(object): a clean-up action's (or an undo's) :class:`~photosim.core.cleanup.ActionResult`.
    """

    model_loaded = Signal(object)
    run_started = Signal(bool)
    progressed = Signal(object)
    run_finished = Signal(object)
    folders_changed = Signal(object)
    snapshot_published = Signal(object)
    noticed = Signal(str)
    failed = Signal(str, str)
    catalog_damaged = Signal(str)
    query_answered = Signal(int, object)
    query_failed = Signal(int, str, str)
    duplicates_changed = Signal(object)
    duplicates_progressed = Signal(object)
    cleaned_up = Signal(object)

    def __init__(self, service: LibraryService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._attached = False
        self.attach()

    def attach(self) -> None:
        if not self._attached:
            self.service.subscribe(self.relay)
            self._attached = True

    def detach(self) -> None:
        """Stop relaying (the window is closing; late events from the service are dropped)."""
        if self._attached:
            self.service.unsubscribe(self.relay)
            self._attached = False

    def relay(self, event: ev.ServiceEvent) -> None:
        """The service's listener: runs on a service thread, emits a signal Qt queues to the GUI thread."""
        route = _ROUTES.get(type(event))
        if route is None:
            return
        signal, fields = route
        args = tuple(getattr(event, name) for name in fields) if fields else (event,)
        getattr(self, signal).emit(*args)


_ROUTES: dict[type, tuple[str, tuple[str, ...]]] = {
    # event type: (the bridge's signal, the event's fields it carries; none: the event itself)
    ev.SnapshotPublished: ("snapshot_published", ("snapshot",)),
    ev.Progressed: ("progressed", ("progress",)),
    ev.QueryAnswered: ("query_answered", ("token", "results")),
    ev.QueryFailed: ("query_failed", ("token", "message", "details")),
    ev.RunStarted: ("run_started", ("full",)),
    ev.RunFinished: ("run_finished", ("report",)),
    ev.FoldersChanged: ("folders_changed", ("folders",)),
    ev.ModelLoaded: ("model_loaded", ()),
    ev.Noticed: ("noticed", ("text",)),
    ev.Failed: ("failed", ("message", "details")),
    ev.CatalogDamaged: ("catalog_damaged", ("message",)),
    ev.DuplicatesChanged: ("duplicates_changed", ("state",)),
    ev.DuplicatesProgressed: ("duplicates_progressed", ("progress",)),
    ev.CleanedUp: ("cleaned_up", ("result",)),
}
"""How :meth:`ServiceBridge.relay` turns each service event into a signal."""
