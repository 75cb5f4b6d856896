"""The Duplicates view's presenter: which groups are shown, and every clean-up action, through the service.

The state is the service's immutable :class:`~photosim.core.dupstate.DuplicateState`; the presenter
adds only what belongs to this person's session: the tier and folder filters, the similarity
threshold under the slider (a regrouping of the similar shots, made off the GUI thread, latest move
wins), and the keepers they picked with K (``DuplicateGroup.with_keeper``, remembered by group key
until the group's contents change). Actions never block the GUI thread: each is a service future
whose outcome comes back through a queued signal, is said in the status bar, and the list follows
the ``DuplicatesChanged`` the service publishes after it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from ..core.cleanup import ActionResult
from ..core.dupstate import TIER_LABELS, DuplicateGroup, DuplicateState, PhotoInfo, Plan, Tier
from ..core.paths import is_within
from ..core.progress import Progress, format_size
from ..core.service import LibraryService
from .bridge import ServiceBridge

log = logging.getLogger(__name__)


def action_outcome(future: Future[ActionResult]) -> tuple[ActionResult | None, str, int]:
    """What the status bar says when a clean-up action (a service future) has ended, and for how
    long (ms); the action's result, None when it failed. The Duplicates view and the grid say it alike."""
    exc = future.exception()
    if exc is not None:
        return None, f"The action failed: {str(exc) or type(exc).__name__}", 15000
    result = future.result()
    if result.nothing_to_undo:
        return result, "Nothing to undo.", 5000
    return result, result.summary() + ".", 15000 if result.refused else 8000


class DuplicatesPresenter(QObject):
    """The Duplicates view's state and actions.

    Signals:
        groups_changed(): the shown groups changed (new state, filter, threshold or keeper).
        histogram_changed(): the similar tier's pair scores changed (a new pass or update).
        pass_changed(bool): a duplicate pass started (True) or ended (False).
        progressed(object): the running pass's :class:`~photosim.core.progress.Progress`.
        action_finished(object): an action's :class:`~photosim.core.cleanup.ActionResult` came back.
        message(str, int): a line for the status bar and how long to show it (ms).
        threshold_committed(float): the person let go of the slider at this similarity (a setting).
    """

    groups_changed = Signal()
    histogram_changed = Signal()
    pass_changed = Signal(bool)
    progressed = Signal(object)
    action_finished = Signal(object)
    message = Signal(str, int)
    threshold_committed = Signal(float)
    _future_done = Signal(object, object)

    def __init__(self, service: LibraryService, bridge: ServiceBridge, threshold: float | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.state: DuplicateState = service.duplicate_state
        self.threshold = float(threshold if threshold is not None else self.state.similar_threshold)
        self.tier: Tier | None = None
        self.folder: str | None = None
        self.keepers: dict[str, int] = {}
        self.running = False
        self.last_progress: Progress | None = None
        self.pass_error: str | None = None
        self._regroup_token = 0
        self._regrouper = ThreadPoolExecutor(1, thread_name_prefix="photosim-regroup")
        self._closed = False
        self._folders: tuple[DuplicateState | None, list[str]] = (None, [])
        self._future_done.connect(self._call_back)
        bridge.duplicates_changed.connect(self.adopt)
        bridge.duplicates_progressed.connect(self._progressed)

    # -- futures back on the GUI thread ------------------------------------------------------------
    def _watch(self, future: Future[Any], then: Callable[[Future[Any]], None]) -> None:
        """Call ``then(future)`` on the GUI thread when the future is done (a queued signal)."""
        future.add_done_callback(lambda f: self._future_done.emit(f, then))

    @Slot(object, object)
    def _call_back(self, future: Future[Any], then: Callable[[Future[Any]], None]) -> None:
        if not self._closed:
            then(future)

    # -- the pass ------------------------------------------------------------------------------------
    def open(self) -> None:
        """The view opened: show what is known now; run a pass when none has run in this session."""
        self.adopt(self.service.duplicate_state)
        if not self.state.ready and not self.running:
            self.find()

    def find(self) -> None:
        """Look for duplicates (again): known groups within seconds, then the pending checks in steps."""
        if self.running:
            return
        self.running = True
        self.pass_error = None
        self.pass_changed.emit(True)
        self._watch(self.service.find_duplicates(), self._pass_finished)

    def cancel(self) -> None:
        if self.running:
            self.service.cancel_duplicates()
            self.message.emit("Stopping the duplicate pass… (the checks made so far are kept)", 5000)

    def _pass_finished(self, future: Future[DuplicateState]) -> None:
        self.running = False
        self.last_progress = None
        self.pass_changed.emit(False)
        exc = future.exception()
        if exc is not None:
            log.error("the duplicate pass failed", exc_info=exc)
            self.pass_error = f"{type(exc).__name__}: {exc}"
            self.message.emit(f"The duplicate pass stopped: {exc}", 15000)
            self.adopt(self.service.duplicate_state)
            return
        self.adopt(future.result())

    @Slot(object)
    def _progressed(self, progress: Progress) -> None:
        self.last_progress = progress
        self.progressed.emit(progress)

    # -- the state -------------------------------------------------------------------------------------
    @Slot(object)
    def adopt(self, state: DuplicateState) -> None:
        """A new state from the service: shown at once, its similar shots regrouped at this session's
        threshold when the service grouped them at another."""
        if state.serial < self.state.serial:
            return  # a late, older state (a queued signal overtaken by a direct read)
        histogram_moved = state.similar_graph is not self.state.similar_graph
        self.state = state
        live = {g.key for t in ("exact", "same", "similar") for g in getattr(state, t)}
        self.keepers = {k: v for k, v in self.keepers.items() if k in live}
        if abs(state.similar_threshold - self.threshold) > 1e-6:
            self.set_threshold(self.threshold)
        self.groups_changed.emit()
        if histogram_moved:
            self.histogram_changed.emit()

    def set_threshold(self, threshold: float) -> None:
        """Regroup the similar shots at ``threshold`` off the GUI thread; the latest call wins."""
        self.threshold = float(threshold)
        self._regroup_token += 1
        token, state = self._regroup_token, self.state
        if self._closed:
            return
        future = self._regrouper.submit(state.with_similar_threshold, self.threshold)
        self._watch(future, lambda f: self._regrouped(token, state, f))

    def _regrouped(self, token: int, base: DuplicateState, future: Future[DuplicateState]) -> None:
        if token != self._regroup_token or base is not self.state:
            return  # the slider moved again, or a newer state came: its own regrouping follows
        exc = future.exception()
        if exc is not None:
            log.error("regrouping the similar shots failed", exc_info=exc)
            return
        self.state = future.result()
        self.groups_changed.emit()

    def commit_threshold(self) -> None:
        """The slider was let go: the service groups at this threshold from now on (and it is saved)."""
        self.service.configure_duplicates(similar_threshold=self.threshold)
        self.threshold_committed.emit(self.threshold)

    def set_tier(self, tier: Tier | None) -> None:
        self.tier = tier
        self.groups_changed.emit()

    def set_folder(self, folder: str | None) -> None:
        self.folder = folder
        self.groups_changed.emit()

    def groups(self) -> list[DuplicateGroup]:
        """The groups as shown: filtered, with the person's keepers."""
        out = []
        for g in self.state.groups(self.tier, self.folder):
            chosen = self.keepers.get(g.key)
            out.append(g.with_keeper(chosen) if chosen is not None and chosen != g.keeper.photo_id else g)
        return out

    def plan(self) -> Plan:
        return Plan.of(self.groups())

    def folders(self) -> list[str]:
        """The folders a person can filter by: the watched ones, every folder holding a grouped photo
        and every folder between those two (2019 for 2019/Summer: a filter takes its folders too), and
        the one filtered by now (a folder picked in the folders panel)."""
        if self._folders[0] is not self.state:
            watched = set(self.service.folders())
            found: set[str] = set()
            for folder in {os.path.dirname(p.path) for t in ("exact", "same", "similar")
                           for g in getattr(self.state, t) for p in g.photos}:
                found.add(folder)
                parent = os.path.dirname(folder)
                while parent != folder and parent not in found and parent not in watched \
                        and any(is_within(parent, w) for w in watched):
                    found.add(parent)
                    folder, parent = parent, os.path.dirname(parent)
            self._folders = (self.state, sorted(watched | found))
        if self.folder is not None and self.folder not in self._folders[1]:
            return sorted([*self._folders[1], self.folder])
        return self._folders[1]

    # -- actions (each through the service, never waiting) ---------------------------------------------
    def keep(self, group: DuplicateGroup, photo: PhotoInfo) -> None:
        """K: this photo is the one to keep; the others become the suggestion (nothing moves yet)."""
        self.keepers[group.key] = photo.photo_id
        self.message.emit(f"Keeping {photo.name} in this group; A moves the others to the trash.", 5000)
        self.groups_changed.emit()

    def trash(self, photo: PhotoInfo) -> None:
        """T: this one photo to the trash."""
        self._act(self.service.trash_photos([photo.photo_id]))

    def accept(self, group: DuplicateGroup) -> None:
        """A: the group's suggestion: every member but the keeper to the trash."""
        if not group.suggested_trash:
            refused = [m.photo.name for m in group.members if not m.keep and m.protected]
            why = (f"{', '.join(refused)} {'is' if len(refused) == 1 else 'are'} inside a reference folder "
                   "and never moved") if refused else "nothing to move"
            self.message.emit(f"Nothing moved: {why}.", 8000)
            return
        self._act(self.service.accept_suggestions([group]))

    def accept_all(self, groups: list[DuplicateGroup]) -> None:
        """Every shown group's suggestion (after the person confirmed the plan)."""
        if groups:
            self._act(self.service.accept_suggestions(groups))

    def not_duplicates(self, group: DuplicateGroup) -> None:
        """N: these photos are not duplicates; they never share a group again."""
        self._act(self.service.mark_not_duplicates(group))

    def undo(self) -> None:
        """Z: reverse the latest action (files come back from the trash)."""
        self._act(self.service.undo_last())

    def _act(self, future: Future[ActionResult]) -> None:
        self._watch(future, self._acted)

    def _acted(self, future: Future[ActionResult]) -> None:
        result, text, ms = action_outcome(future)
        self.message.emit(text, ms)
        if result is not None and not result.nothing_to_undo:
            self.action_finished.emit(result)

    # -- words for the view ------------------------------------------------------------------------------
    def totals_text(self, groups: list[DuplicateGroup] | None = None) -> str:
        groups = self.groups() if groups is None else groups
        if not groups:
            return ""
        plan = Plan.of(groups)
        files = sum(len(g.members) for g in groups)
        return (f"{len(groups):,} group{'s' if len(groups) != 1 else ''} · {files:,} photos · "
                f"{format_size(plan.bytes)} to free ({len(plan.photos):,} file{'s' if len(plan.photos) != 1 else ''})")

    @staticmethod
    def tier_label(tier: str) -> str:
        return TIER_LABELS.get(tier, tier)

    def shutdown(self) -> None:
        self._closed = True
        self._regrouper.shutdown(wait=False, cancel_futures=True)
