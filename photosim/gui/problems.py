"""The problems view: every photo that could not be read, with its reason, plus offline folders.

From here a person finds the bad files (*Show in folder*, or a double click) and has them read again
(*Try again*: after fixing a permission or reconnecting a flaky drive; a failed file is otherwise read
again only when its size or time changes, and chmod changes neither).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.paths import display_path
from .errors import close_and_copy_buttons


class ProblemsDialog(QDialog):
    """Lists failed files (with their folders and reasons) and folders with a note (offline, polled).
    ``reveal(path)`` shows a file in the file manager; ``retry(paths)`` has failed files read again
    (None: all of them). No signals of its own."""

    def __init__(self, failures: list[tuple[str, str]], folder_notes: dict[str, str],
                 parent: QWidget | None = None, *, reveal: Callable[[str], object] | None = None,
                 retry: Callable[[list[str] | None], object] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Problems")
        self.resize(900, 440)
        self._reveal, self._retry = reveal, retry
        self.failed_paths = {path for path, _ in failures}  # a set: up to 10,000 rows are looked up
        layout = QVBoxLayout(self)
        rows: list[tuple[str, str]] = [(path, why) for path, why in sorted(folder_notes.items())]
        rows += list(failures)
        summary = f"{len(failures):,} photo{'s' if len(failures) != 1 else ''} could not be indexed."
        if folder_notes:
            n = len(folder_notes)
            summary += f" {n} folder{'s are' if n != 1 else ' is'} offline or not watched for changes."
        if not rows:
            summary = "No problems: every photo was read."
        self.summary = QLabel(summary)
        layout.addWidget(self.summary)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["File or folder", "Folder", "Reason"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for r, (path, why) in enumerate(rows):
            shown = display_path(path)
            item = QTableWidgetItem(os.path.basename(shown) or shown)
            item.setToolTip(shown)
            item.setData(Qt.ItemDataRole.UserRole, shown)
            self.table.setItem(r, 0, item)
            where = QTableWidgetItem(os.path.dirname(shown))
            where.setToolTip(os.path.dirname(shown))
            self.table.setItem(r, 1, where)
            self.table.setItem(r, 2, QTableWidgetItem(why))
        self.table.setColumnWidth(0, 220)
        self.table.setColumnWidth(1, 300)
        self.table.doubleClicked.connect(lambda index: self.reveal_row(index.row()))
        self.table.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table, 1)
        buttons = close_and_copy_buttons("Copy list", self.copy_all, self.reject)
        self.show_button = QPushButton("Show in folder")
        self.show_button.setToolTip("Show the selected file in the file manager (or double-click it)")
        self.show_button.clicked.connect(lambda: self.reveal_row(self.table.currentRow()))
        self.retry_button = QPushButton("Try again")
        self.retry_button.setToolTip("Read the selected files again (all of them when none is selected): "
                                     "after fixing a permission or reconnecting a drive")
        self.retry_button.clicked.connect(self.retry_selected)
        for button in (self.show_button, self.retry_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.show_button.setVisible(reveal is not None and bool(rows))
        self.retry_button.setVisible(retry is not None and bool(failures))
        layout.addWidget(buttons)
        self.rows = rows
        self._selection_changed()

    def _selected_rows(self) -> list[int]:
        return sorted({index.row() for index in self.table.selectionModel().selectedRows()})

    def _picked_failures(self, rows: list[int]) -> list[str]:
        """The failed files among these rows (folders with a note are not retried)."""
        return [self.rows[r][0] for r in rows if self.rows[r][0] in self.failed_paths]

    def _selection_changed(self) -> None:
        rows = self._selected_rows()
        self.show_button.setEnabled(len(rows) == 1)
        picked = self._picked_failures(rows)
        n = len(picked) or len(self.failed_paths)
        self.retry_button.setText(f"Try again ({n:,})" if picked else "Try again (all)")
        self.retry_button.setEnabled(bool(n))

    def reveal_row(self, row: int) -> None:
        if self._reveal is not None and 0 <= row < len(self.rows):
            self._reveal(self.rows[row][0])

    def retry_selected(self) -> None:
        """The selected failed files are read again (all of them when none is selected); they leave
        the list, and come back with their reason if they still cannot be read."""
        if self._retry is None:
            return
        picked = self._picked_failures(self._selected_rows())
        self._retry(picked or None)
        gone = set(picked) or set(self.failed_paths)
        for r in reversed(range(len(self.rows))):
            if self.rows[r][0] in gone:
                self.table.removeRow(r)
                del self.rows[r]
        self.failed_paths -= gone
        n = len(gone)
        self.summary.setText(f"Reading {n:,} file{'s' if n != 1 else ''} again; any that still cannot be "
                             "read will be listed here next time.")
        self._selection_changed()

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(f"{display_path(path)}\t{why}" for path, why in self.rows))
