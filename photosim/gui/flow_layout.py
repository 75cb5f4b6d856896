"""A layout that lays its widgets out in a row and wraps them onto more rows when the space is narrow.

The Duplicates page's controls (back, title, totals, filters, buttons; the similarity slider and its
histogram) made one row 750 px wide, and with the folders panel the window could not be narrower than
975 px: not even half of a 1920 px screen. Wrapped, the page needs only its widest control.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget


class FlowLayout(QLayout):
    """Items left to right, wrapping; an item added with ``stretch`` takes the row's spare width
    (the Duplicates page's totals label), the rest keep their size hints."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._stretch: dict[int, int] = {}  # item id -> the least width it is given in a row
        self._spacing = spacing

    # -- QLayout's protocol ---------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt's name)
        self._items.append(item)

    def add(self, widget: QWidget, stretch: bool = False, least: int = 0) -> None:
        """Add a widget; ``stretch``: it takes what is left of its row, at least ``least`` pixels
        (an elided label has no minimum width of its own)."""
        self.addWidget(widget)  # Qt makes the item and hands it to addItem
        if stretch:
            self._stretch[id(self._items[-1])] = least
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        if 0 <= index < len(self._items):
            item = self._items.pop(index)
            self._stretch.pop(id(item), None)
            return item
        return None

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._arrange(QRect(0, 0, width, 0), place=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._arrange(rect, place=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        """One row of everything."""
        visible = self._visible()
        width = sum(i.sizeHint().width() for i in visible) + self._spacing * max(len(visible) - 1, 0)
        height = max((i.sizeHint().height() for i in visible), default=0)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:  # noqa: N802
        """The widest single item: everything else can wrap."""
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # -- placing ------------------------------------------------------------------------------------
    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    def _width(self, item: QLayoutItem) -> int:
        """An item's width before a row's spare width is shared out."""
        if id(item) in self._stretch:
            return max(item.minimumSize().width(), self._stretch[id(item)])
        return item.sizeHint().width()

    def _rows(self, width: int) -> list[list[QLayoutItem]]:
        rows: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._visible():
            w = self._width(item)
            if rows[-1] and used + self._spacing + w > width:
                rows.append([])
                used = 0
            used += (self._spacing if rows[-1] else 0) + w
            rows[-1].append(item)
        return [r for r in rows if r]

    def _arrange(self, rect: QRect, place: bool) -> int:
        m: QMargins = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        rows = self._rows(area.width())
        if not rows:
            return m.top() + m.bottom()
        y = area.y()
        for row in rows:
            widths = [self._width(i) for i in row]
            spare = max(area.width() - sum(widths) - self._spacing * (len(row) - 1), 0)
            stretchers = [k for k, i in enumerate(row) if id(i) in self._stretch]
            for k in stretchers:
                widths[k] += spare // len(stretchers)
            widths = [min(w, area.width()) for w in widths]
            height = max(i.sizeHint().height() for i in row)
            if place:
                x = area.x()
                for item, w in zip(row, widths, strict=True):
                    h = item.sizeHint().height()  # centred in its row at its own height
                    item.setGeometry(QRect(QPoint(x, y + (height - h) // 2), QSize(w, h)))
                    x += w + self._spacing
            y += height + self._spacing
        return y - self._spacing - rect.y() + m.bottom()
