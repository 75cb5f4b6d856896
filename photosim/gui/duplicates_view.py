"""The Duplicates view: groups with thumbnails and what cleaning them frees, filters, the similarity
slider with its histogram, the selected group's photos, the compare view, and keyboard triage.

The view draws the :class:`~photosim.gui.duplicates_presenter.DuplicatesPresenter`'s groups and turns
keys into its actions; it holds no state of its own beyond which group and which photo are current
(kept by group key, so a list rebuilt after an action stays where the person was). The keys belong to
the view itself (its lists and controls take no keyboard focus), so arrows, K, T, N, A, Z and Enter
mean the same thing whether the list or the compare view is showing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QIcon, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.dupstate import SIMILAR, SIMILAR_FLOOR, TIERS, DuplicateGroup, PhotoInfo, Plan
from ..core.paths import display_path
from ..core.progress import Progress, format_duration, format_size
from .compare_view import CompareView
from .duplicates_model import GroupListModel, sentence
from .duplicates_presenter import DuplicatesPresenter
from .flow_layout import FlowLayout
from .histogram import ScoreHistogram
from .labels import ElidedLabel
from .thumbs import ThumbnailLoader

GROUP_ICON = 72
MEMBER_ICON = 150
KEYS_HINT = ("↑↓ group · ←→ photo · K keep this · T trash this · A accept suggestion · N not duplicates · "
             "Z undo · Enter next group · Space compare · Esc back")
KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓, Page Up/Down, Home/End", "Previous or next group"),
    ("← →", "Previous or next photo of the group"),
    ("Enter", "Next group"),
    ("K", "Keep this photo, suggest the others of the group"),
    ("T, Delete", "Move this photo to the trash"),
    ("A", "Accept the group's suggestion"),
    ("N", "Not duplicates: the group is not shown again"),
    ("Z, Ctrl+Z", "Undo the last clean-up"),
    ("Space, C", "Compare the photos side by side"),
    ("+ −, 0 or F", "While comparing: zoom in, out, fit"),
    ("Esc", "Back to the library"),
)
"""The page's keys, for Help > Keyboard shortcuts; :meth:`DuplicatesView.keyPressEvent` answers them."""


class DuplicatesView(QWidget):
    """The Duplicates page of the main window.

    Signals:
        back_requested(): the person asked to go back to the library (the Back button).
        compare_toggled(bool): the compare view opened (True) or closed.
    """

    back_requested = Signal()
    compare_toggled = Signal(bool)

    def __init__(self, presenter: DuplicatesPresenter, loader: ThumbnailLoader,
                 photo_rows: Callable[[Sequence[int]], dict[int, Any]], library_size: Callable[[], int],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        self.loader = loader
        self.photo_rows = photo_rows
        self.library_size = library_size
        self.current_key: str | None = None
        self.current_photo = 0
        self.shown: list[DuplicateGroup] = []
        self._rows: dict[int, Any] = {}
        # items waiting for a thumbnail, per list (each map is emptied when its list is rebuilt, so a
        # thumbnail that arrives later never reaches an item Qt already deleted)
        self._group_icons: dict[int, list[QListWidgetItem]] = {}
        self._member_icons: dict[int, list[QListWidgetItem]] = {}
        self.setObjectName("duplicatesView")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        # -- the top bar: back, totals, filters, actions ------------------------------------------
        self.back_button = QPushButton("← Back")
        self.back_button.setToolTip("Back to the library (Esc)")
        self.title = QLabel("Duplicates")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        # Elided: with a pass's progress the totals grew long enough to push the window off the screen.
        self.totals = ElidedLabel("", mode=Qt.TextElideMode.ElideRight)
        self.totals.setObjectName("duplicateTotals")
        self.tier_box = QComboBox()
        self.tier_box.addItem("All tiers", None)
        for tier in TIERS:
            self.tier_box.addItem(DuplicatesPresenter.tier_label(tier).capitalize(), tier)
        self.folder_box = QComboBox()
        self.folder_box.setMinimumWidth(180)
        self.folder_box.setMaximumWidth(320)
        self.again_button = QPushButton("Look again")
        self.again_button.setToolTip("Run the duplicate pass again (checks made before are reused)")
        self.accept_all_button = QPushButton("Accept all suggestions…")
        self.accept_all_button.setToolTip("Move the suggested files of every group shown to the trash, "
                                          "after a summary")
        # the page's rows wrap where the window is narrow (it could not be narrower than 975 px)
        top = FlowLayout()
        top.setContentsMargins(8, 6, 8, 0)
        for w in (self.back_button, self.title):
            top.add(w)
        top.add(self.totals, stretch=True, least=160)
        for w in (self.tier_box, self.folder_box, self.again_button, self.accept_all_button):
            top.add(w)
        self.top_bar = QWidget()
        self.top_bar.setLayout(top)

        # -- the similarity slider and its histogram ----------------------------------------------
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(SIMILAR_FLOOR * 100), 99)
        self.slider.setValue(int(round(presenter.threshold * 100)))
        self.slider.setFixedWidth(200)
        self.slider.setToolTip("Similar shots: how alike two shots must be to be grouped; "
                               "lower finds more, looser series")
        self.slider_value = QLabel(f"{presenter.threshold:.2f}")
        self.slider_value.setMinimumWidth(36)
        self.histogram = ScoreHistogram()
        self.histogram.setFixedWidth(240)
        self.histogram.set_threshold(presenter.threshold)
        similar_row = FlowLayout()
        similar_row.setContentsMargins(8, 0, 8, 0)
        similar_row.add(QLabel("Similar shots alike at least"))
        similar_row.add(self.slider)
        similar_row.add(self.slider_value)
        similar_row.add(self.histogram)
        self.similar_controls = QWidget()
        self.similar_controls.setLayout(similar_row)

        # -- the groups and the current group -----------------------------------------------------
        self.groups_model = GroupListModel(loader, photo_rows, self)
        self.group_list = QListView()
        self.group_list.setModel(self.groups_model)
        self.group_list.setObjectName("duplicateGroups")
        self.group_list.setIconSize(QSize(GROUP_ICON, GROUP_ICON))
        self.group_list.setUniformItemSizes(True)
        self.group_list.setSpacing(2)
        self.group_list.setWordWrap(True)
        self.members = QListWidget()
        self.members.setObjectName("groupMembers")
        self.members.setViewMode(QListView.ViewMode.IconMode)
        self.members.setIconSize(QSize(MEMBER_ICON, MEMBER_ICON))
        self.members.setGridSize(QSize(MEMBER_ICON + 60, MEMBER_ICON + 84))
        self.members.setResizeMode(QListView.ResizeMode.Adjust)
        self.members.setMovement(QListView.Movement.Static)
        self.members.setWordWrap(True)
        self.group_title = QLabel("")
        gfont = self.group_title.font()
        gfont.setBold(True)
        gfont.setPointSizeF(gfont.pointSizeF() * 1.1)
        self.group_title.setFont(gfont)
        self.reason = QLabel("")
        self.reason.setObjectName("keeperReason")
        self.reason.setWordWrap(True)
        self.reason.setTextFormat(Qt.TextFormat.PlainText)
        self.photo_facts = QLabel("")
        self.photo_facts.setWordWrap(True)
        self.photo_facts.setTextFormat(Qt.TextFormat.PlainText)
        self.photo_facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.compare_button = QPushButton("Compare side by side (Space)")
        self.accept_button = QPushButton("Accept suggestion (A)")
        self.not_dup_button = QPushButton("Not duplicates (N)")
        buttons = FlowLayout()
        for w in (self.compare_button, self.accept_button, self.not_dup_button):
            buttons.add(w)
        button_bar = QWidget()
        button_bar.setLayout(buttons)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(8, 0, 0, 0)
        detail_layout.addWidget(self.group_title)
        detail_layout.addWidget(self.reason)
        detail_layout.addWidget(self.members, 1)
        detail_layout.addWidget(self.photo_facts)
        detail_layout.addWidget(button_bar)
        self.compare = CompareView()
        self.detail_stack = QStackedWidget()
        self.detail_stack.addWidget(detail)
        self.detail_stack.addWidget(self.compare)
        self.detail_page = detail
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.group_list)
        split.addWidget(self.detail_stack)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 900])
        split.setChildrenCollapsible(False)
        self.split = split

        # -- the empty state -----------------------------------------------------------------------
        self.empty = QLabel("")
        self.empty.setObjectName("duplicatesEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        efont = self.empty.font()
        efont.setPointSizeF(efont.pointSizeF() * 1.2)
        self.empty.setFont(efont)
        self.body = QStackedWidget()
        self.body.addWidget(split)
        self.body.addWidget(self.empty)

        self.hint = QLabel(KEYS_HINT)
        self.hint.setObjectName("keysHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(self.top_bar)
        layout.addWidget(self.similar_controls)
        layout.addWidget(self.body, 1)
        hint_row = QHBoxLayout()
        hint_row.setContentsMargins(8, 0, 8, 0)
        hint_row.addWidget(self.hint)
        layout.addLayout(hint_row)

        # the view owns the keys: its controls are used with the mouse
        for w in (self.back_button, self.tier_box, self.folder_box, self.again_button, self.accept_all_button,
                  self.slider, self.group_list, self.members, self.compare_button, self.accept_button,
                  self.not_dup_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        # -- wiring ----------------------------------------------------------------------------------
        self.back_button.clicked.connect(self.back_requested)
        self.tier_box.currentIndexChanged.connect(lambda _i: self._tier_chosen())
        self.folder_box.currentIndexChanged.connect(lambda _i: self._folder_chosen())
        self.again_button.clicked.connect(presenter.find)
        self.accept_all_button.clicked.connect(self.accept_all)
        self.slider.valueChanged.connect(self._slider_moved)
        # the service (and the setting) follow once the slider rests: a drag, a click on the track
        self._commit_timer = QTimer(self)
        self._commit_timer.setSingleShot(True)
        self._commit_timer.setInterval(600)
        self._commit_timer.timeout.connect(presenter.commit_threshold)
        self.group_list.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._group_row_changed(cur.row()))
        self.members.currentRowChanged.connect(self._member_row_changed)
        self.members.itemDoubleClicked.connect(lambda _item: self.toggle_compare())
        self.compare_button.clicked.connect(self.toggle_compare)
        self.accept_button.clicked.connect(self.accept_current)
        self.not_dup_button.clicked.connect(self.not_duplicates_current)
        presenter.groups_changed.connect(self.refresh)
        presenter.histogram_changed.connect(self._refresh_histogram)
        presenter.pass_changed.connect(lambda _running: self.refresh())
        presenter.progressed.connect(self._progressed)
        loader.loaded.connect(self._thumbnail_loaded)
        self._refresh_histogram()

    # -- what is current ---------------------------------------------------------------------------------
    def group_row(self) -> int:
        index = self.group_list.currentIndex()
        return index.row() if index.isValid() else -1

    def set_group_row(self, row: int) -> None:
        self.group_list.setCurrentIndex(self.groups_model.index(row))
        self.group_list.scrollTo(self.groups_model.index(row))

    def current_group(self) -> DuplicateGroup | None:
        row = self.group_row()
        return self.shown[row] if 0 <= row < len(self.shown) else None

    def current_member(self) -> PhotoInfo | None:
        group = self.current_group()
        if group is None or not group.members:
            return None
        return group.members[min(self.current_photo, len(group.members) - 1)].photo

    @property
    def comparing(self) -> bool:
        return self.detail_stack.currentWidget() is self.compare

    # -- drawing -----------------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        """Rebuild the lists from the presenter, keeping the current group (or its row) and photo."""
        p = self.presenter
        groups = p.groups()
        old_row = self.group_row()
        self.shown = groups
        selection = self.group_list.selectionModel()
        selection.blockSignals(True)
        self.groups_model.set_groups(groups)
        row = next((i for i, g in enumerate(groups) if g.key == self.current_key), None)
        if row is None and groups:
            row = min(max(old_row, 0), len(groups) - 1)
        if row is not None:
            self.set_group_row(row)
        selection.blockSignals(False)
        self.totals.setText(p.totals_text(groups))
        self.similar_controls.setVisible(p.tier in (None, SIMILAR))
        self.accept_all_button.setEnabled(bool(groups))
        self._refresh_folders()
        if groups:
            self.body.setCurrentWidget(self.split)
        else:
            self.body.setCurrentWidget(self.empty)
            self.empty.setText(self._empty_text())
            if self.comparing:
                self.toggle_compare()
        self._show_group(reset_photo=row is None or groups[row].key != self.current_key)

    def _empty_text(self) -> str:
        p = self.presenter
        n = self.library_size()
        if p.running or not p.state.ready:
            progress = p.last_progress
            text = f"Looking for duplicates in {n:,} photos…"
            if progress is not None and progress.total:
                text += f"\n{progress.done:,} / {progress.total:,}"
            return text
        where = ""
        if p.folder is not None:
            where = f" in {display_path(p.folder)}"
        what = "duplicates" if p.tier is None else p.tier_label(p.tier)
        return f"No {what} found in {n:,} photo{'s' if n != 1 else ''}{where}."

    def _show_group(self, reset_photo: bool = False) -> None:
        group = self.current_group()
        self.members.blockSignals(True)
        self.members.clear()
        self._member_icons = {}
        if group is None:
            self.current_key = None
            self.group_title.setText("")
            self.reason.setText("")
            self.photo_facts.setText("")
            self.members.blockSignals(False)
            return
        self.current_key = group.key
        missing = [p.photo_id for p in group.photos if p.photo_id not in self._rows]
        if missing:  # one read for the group's thumbnails (the list's rows read their own when drawn)
            self._rows.update(self.photo_rows(missing))
        if reset_photo:
            self.current_photo = 0
        self.current_photo = min(self.current_photo, len(group.members) - 1)
        self.group_title.setText(f"{self.presenter.tier_label(group.tier).capitalize()}: {len(group.members)} photos"
                                 + (f", {format_size(group.reclaimable)} to free" if group.reclaimable else ""))
        self.reason.setText(sentence(group.reason))
        for m in group.members:
            mark = "✓ keep" if m.keep else ("🔒 reference" if m.protected else "→ trash")
            dims = m.photo.dimensions
            size = f"{dims[0]}×{dims[1]} · " if dims else ""
            score = "" if m.keep else f"\nalike {m.score:.2f}"
            item = QListWidgetItem(f"{mark}\n{m.photo.name}\n{size}{format_size(m.photo.size)}{score}")
            item.setToolTip(display_path(m.photo.path))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            if m.keep:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self._set_icon(item, m.photo, self._member_icons)
            self.members.addItem(item)
        self.members.setCurrentRow(self.current_photo)
        self.members.blockSignals(False)
        self._show_photo()
        if self.comparing:
            self._fill_compare()

    def _show_photo(self) -> None:
        photo = self.current_member()
        if photo is None:
            self.photo_facts.setText("")
            return
        facts = photo.describe()
        self.photo_facts.setText(f"{photo.name} · " + " · ".join(
            f"{k} {v}" if k in ("sharpness", "camera", "date") else v for k, v in facts.items() if k != "file"))
        self.compare.set_current(photo.photo_id)

    def _fill_compare(self) -> None:
        group = self.current_group()
        if group is None:
            return
        photos = group.photos
        current = self.current_member()
        if current is not None and current not in photos[:4]:  # the fourth pane follows the arrows
            photos = photos[:3] + [current]
        self.compare.set_photos(photos, group.keeper.photo_id, current.photo_id if current else None)

    def _set_icon(self, item: QListWidgetItem, photo: PhotoInfo, waiting: dict[int, list[QListWidgetItem]]) -> None:
        row = self._rows.get(photo.photo_id)
        if row is None:
            return
        pixmap = self.loader.pixmap(photo.photo_id, row.path, row.size, row.mtime_ns)
        if pixmap is not None:
            item.setIcon(QIcon(pixmap))
        else:
            waiting.setdefault(photo.photo_id, []).append(item)

    @Slot(int)
    def _thumbnail_loaded(self, photo_id: int) -> None:
        items = self._group_icons.pop(photo_id, []) + self._member_icons.pop(photo_id, [])
        if not items:
            return
        row = self._rows.get(photo_id)
        if row is None:
            return
        pixmap = self.loader.pixmap(photo_id, row.path, row.size, row.mtime_ns)
        if pixmap is not None:
            for item in items:
                item.setIcon(QIcon(pixmap))

    @Slot()
    def _refresh_histogram(self) -> None:
        edges, counts = self.presenter.state.histogram(bins=25)
        self.histogram.set_histogram(list(edges), list(counts))

    def _refresh_folders(self) -> None:
        folders = self.presenter.folders()
        have = [self.folder_box.itemData(i) for i in range(1, self.folder_box.count())]
        if have == folders and self.folder_box.count():
            return
        self.folder_box.blockSignals(True)
        self.folder_box.clear()
        self.folder_box.addItem("All folders", None)
        for f in folders:
            self.folder_box.addItem(display_path(f), f)
        index = self.folder_box.findData(self.presenter.folder) if self.presenter.folder else 0
        self.folder_box.setCurrentIndex(max(0, index))
        self.folder_box.blockSignals(False)

    @Slot(object)
    def _progressed(self, progress: Progress) -> None:
        if self.body.currentWidget() is self.empty:
            self.empty.setText(self._empty_text())
        if progress.total and progress.phase.startswith("duplicates"):
            left = f" · {format_duration(progress.eta)} left" if progress.eta else ""
            self.totals.setText((self.presenter.totals_text() + "  ·  " if self.shown else "")
                                + f"checking {progress.done:,} / {progress.total:,}{left}")

    # -- filters and slider ------------------------------------------------------------------------------
    def _tier_chosen(self) -> None:
        self.presenter.set_tier(self.tier_box.currentData())

    def _folder_chosen(self) -> None:
        self.presenter.set_folder(self.folder_box.currentData())

    def _slider_moved(self, value: int) -> None:
        threshold = value / 100
        self.slider_value.setText(f"{threshold:.2f}")
        self.histogram.set_threshold(threshold)
        self.presenter.set_threshold(threshold)
        self._commit_timer.start()

    def set_threshold(self, threshold: float) -> None:
        """Move the slider (as a person dragging it and letting go would)."""
        self.slider.setValue(int(round(threshold * 100)))
        self._commit_timer.stop()
        self.presenter.commit_threshold()

    # -- navigation ----------------------------------------------------------------------------------------
    @Slot(int)
    def _group_row_changed(self, row: int) -> None:
        self._show_group(reset_photo=True)

    @Slot(int)
    def _member_row_changed(self, row: int) -> None:
        if row >= 0:
            self.current_photo = row
            self._show_photo()

    def move_group(self, step: int) -> None:
        if not self.shown:
            return
        self.set_group_row(min(len(self.shown) - 1, max(0, self.group_row() + step)))

    def move_photo(self, step: int) -> None:
        group = self.current_group()
        if group is None:
            return
        self.current_photo = min(len(group.members) - 1, max(0, self.current_photo + step))
        self.members.setCurrentRow(self.current_photo)
        if self.comparing:
            self._fill_compare()

    def toggle_compare(self) -> None:
        """Open the compare view on the current group (or close it)."""
        if self.comparing:
            self.detail_stack.setCurrentWidget(self.detail_page)
            self.compare_toggled.emit(False)
        elif self.current_group() is not None:
            self._fill_compare()
            self.detail_stack.setCurrentWidget(self.compare)
            self.compare_toggled.emit(True)
        self.setFocus()

    def leave_compare(self) -> bool:
        """Esc while comparing closes the compare view first; False when it was not open."""
        if self.comparing:
            self.toggle_compare()
            return True
        return False

    # -- actions -------------------------------------------------------------------------------------------
    def keep_current(self) -> None:
        group, photo = self.current_group(), self.current_member()
        if group is not None and photo is not None:
            self.presenter.keep(group, photo)

    def trash_current(self) -> None:
        photo = self.current_member()
        if photo is not None:
            self.presenter.trash(photo)

    def accept_current(self) -> None:
        group = self.current_group()
        if group is not None:
            self.presenter.accept(group)

    def not_duplicates_current(self) -> None:
        group = self.current_group()
        if group is not None:
            self.presenter.not_duplicates(group)

    def accept_all(self) -> bool:
        """Accept every shown group's suggestion after a summary the person confirms; True if they did."""
        groups = self.presenter.groups()
        plan = Plan.of(groups)
        if not plan.photos:
            self.presenter.message.emit("Nothing to move: every suggested file is kept or in a reference folder.",
                                        8000)
            return False
        which = "all tiers" if self.presenter.tier is None else self.presenter.tier_label(self.presenter.tier)
        protected = sum(1 for g in groups for m in g.members if not m.keep and m.protected)
        text = (f"Move {plan.summary()} ({which})?\n\n"
                "Each group's suggested keeper stays; the files go to the system trash and Z undoes this.")
        if protected:
            text += f"\n{protected} file{'s' if protected != 1 else ''} inside reference folders stay where they are."
        answer = QMessageBox.question(self, "Accept all suggestions", text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.presenter.accept_all(groups)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if self.comparing and self.compare.handle_key(event):
            event.accept()
            return
        actions: dict[int, Callable[[], object]] = {
            Qt.Key.Key_Up: lambda: self.move_group(-1),
            Qt.Key.Key_Down: lambda: self.move_group(1),
            Qt.Key.Key_PageUp: lambda: self.move_group(-10),
            Qt.Key.Key_PageDown: lambda: self.move_group(10),
            Qt.Key.Key_Home: lambda: self.move_group(-len(self.shown)),
            Qt.Key.Key_End: lambda: self.move_group(len(self.shown)),
            Qt.Key.Key_Left: lambda: self.move_photo(-1),
            Qt.Key.Key_Right: lambda: self.move_photo(1),
            Qt.Key.Key_Return: lambda: self.move_group(1),
            Qt.Key.Key_Enter: lambda: self.move_group(1),
            Qt.Key.Key_Space: self.toggle_compare,
            Qt.Key.Key_C: self.toggle_compare,
            Qt.Key.Key_K: self.keep_current,
            Qt.Key.Key_T: self.trash_current,
            Qt.Key.Key_Delete: self.trash_current,
            Qt.Key.Key_A: self.accept_current,
            Qt.Key.Key_N: self.not_duplicates_current,
            Qt.Key.Key_Z: self.presenter.undo,
        }
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        action = actions.get(Qt.Key(key)) if mods == Qt.KeyboardModifier.NoModifier else None
        if action is None and key == Qt.Key.Key_Z and mods == Qt.KeyboardModifier.ControlModifier:
            action = self.presenter.undo
        if action is None:
            super().keyPressEvent(event)
            return
        action()
        event.accept()
