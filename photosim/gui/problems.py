"""The problems view: every photo that could not be read, with its reason, plus offline folders."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.paths import display_path
from .errors import close_and_copy_buttons


class ProblemsDialog(QDialog):
    """Lists failed files (with their reasons) and folders with a note (offline, polled). No signals of its own."""

    def __init__(self, failures: list[tuple[str, str]], folder_notes: dict[str, str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Problems")
        self.resize(820, 420)
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
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["File or folder", "Reason"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for r, (path, why) in enumerate(rows):
            shown = display_path(path)
            item = QTableWidgetItem(os.path.basename(shown) or shown)
            item.setToolTip(shown)
            item.setData(Qt.ItemDataRole.UserRole, shown)
            self.table.setItem(r, 0, item)
            self.table.setItem(r, 1, QTableWidgetItem(why))
        self.table.setColumnWidth(0, 300)
        layout.addWidget(self.table, 1)
        layout.addWidget(close_and_copy_buttons("Copy list", self.copy_all, self.reject))
        self.rows = rows

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(f"{display_path(path)}\t{why}" for path, why in self.rows))
