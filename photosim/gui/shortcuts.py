"""Help > Keyboard shortcuts: every key the window answers to, in one list.

Built from the window's own actions (menu entries and the hidden alternatives such as Ctrl+L), so a
shortcut added to a menu shows up here without a second list to keep in step; the keys that belong to
a view rather than to a menu (the grid's Enter, the Duplicates page's one-letter keys) come from the
tables those views keep beside their key handling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

GRID_KEYS: tuple[tuple[str, str], ...] = (
    ("Arrow keys, Page Up/Down, Home/End", "Move between photos"),
    ("Shift+click, Ctrl+click", "Select several photos (Delete moves them to the trash; drag them out to copy the files)"),
    ("Enter, double-click", "Open the photo in its viewer"),
    ("Space", "View the photo large (← → next, Delete to the trash), or compare 2-4 selected photos"),
    ("Menu key, Shift+F10", "Find similar, open, show in folder, copy path, move to trash"),
    ("Ctrl+wheel", "Larger or smaller thumbnails"),
)
"""Keys of the photo grid (library and results) that no menu carries."""


def menu_shortcuts(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(keys, what they do) for every action with a shortcut: its alternatives joined ("Ctrl+K, Ctrl+L"),
    in menu order, the '&' and '…' of menu text left out."""
    found: dict[str, list[str]] = {}
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
        keys = [k for k in keys if k]
        if not keys:
            continue
        name = action.text().replace("&", "").rstrip("…").strip()
        for key in keys:
            if key not in found.setdefault(name, []):
                found[name].append(key)
    return [(", ".join(keys), name) for name, keys in found.items()]


class ShortcutsDialog(QDialog):
    """A read-only table of keys, grouped: the menus', the grid's, the Duplicates page's."""

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, str]]]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(900, 600)  # the grid's longest lines fit (seen cut at 640 px)
        layout = QVBoxLayout(self)
        self.table = QTreeWidget()
        self.table.setColumnCount(2)
        self.table.setHeaderLabels(["Keys", "Does"])
        self.table.setRootIsDecorated(False)
        self.table.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        for title, rows in sections:
            section = QTreeWidgetItem([title, ""])
            font = section.font(0)
            font.setBold(True)
            section.setFont(0, font)
            section.setFirstColumnSpanned(True)
            self.table.addTopLevelItem(section)
            for keys, does in rows:
                item = QTreeWidgetItem([keys, does])
                item.setToolTip(1, does)  # a long line is cut at the dialog's edge: the whole of it
                self.table.addTopLevelItem(item)
        self.table.resizeColumnToContents(0)
        self.table.setColumnWidth(0, min(self.table.columnWidth(0) + 16, 260))
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def rows(self) -> list[tuple[str, str]]:
        """What the table shows, for tests: (keys, does), section titles with an empty second cell."""
        return [(self.table.topLevelItem(i).text(0), self.table.topLevelItem(i).text(1))
                for i in range(self.table.topLevelItemCount())]
