"""A small bar chart of the similar tier's pair scores, drawn beside the similarity slider.

A threshold is only meaningful next to the data it cuts: the bars show how many candidate pairs have
each similarity, and the marked line shows where the slider falls among them, so a person sees
whether moving it a little would split a bump of near-identical shots or just trim the tail.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class ScoreHistogram(QWidget):
    """Bars of pair counts over a score range, with the threshold drawn as a line.

    Bars at or above the threshold (the pairs that group) are drawn in the accent colour, the others
    grey; an empty histogram draws only the baseline.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edges: list[float] = []
        self.counts: list[int] = []
        self.threshold = 0.7
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(120)
        self.setToolTip("How many pairs of shots have each similarity; the line is the slider's threshold")

    def sizeHint(self) -> QSize:
        return QSize(220, 34)

    def set_histogram(self, edges: Sequence[float], counts: Sequence[int]) -> None:
        self.edges = [float(e) for e in edges]
        self.counts = [int(c) for c in counts]
        total = sum(self.counts)
        self.setToolTip(f"{total:,} candidate pair{'s' if total != 1 else ''} of similar shots by similarity; "
                        "the line is the slider's threshold")
        self.update()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self.update()

    def x_of(self, score: float) -> float:
        """Where a score falls on the widget (the range is the histogram's edges)."""
        lo, hi = (self.edges[0], self.edges[-1]) if len(self.edges) > 1 else (0.5, 1.0)
        span = hi - lo or 1.0
        return 1 + (self.width() - 2) * (min(hi, max(lo, score)) - lo) / span

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        h = self.height()
        palette = self.palette()
        grey = palette.color(palette.ColorRole.Mid)
        accent = palette.color(palette.ColorRole.Highlight)
        painter.fillRect(self.rect(), palette.color(palette.ColorRole.Base))
        painter.setPen(QPen(grey, 1))
        painter.drawLine(0, h - 1, self.width(), h - 1)
        peak = max(self.counts) if self.counts else 0
        if peak > 0:
            for i, count in enumerate(self.counts):
                if not count:
                    continue
                x0, x1 = self.x_of(self.edges[i]), self.x_of(self.edges[i + 1])
                height = max(2.0, (h - 4) * count / peak)
                colour = accent if self.edges[i + 1] > self.threshold else grey
                painter.fillRect(QRectF(x0, h - 1 - height, max(1.0, x1 - x0 - 1), height), colour)
        line = QColor(palette.color(palette.ColorRole.WindowText))
        painter.setPen(QPen(line, 2, Qt.PenStyle.SolidLine))
        x = self.x_of(self.threshold)
        painter.drawLine(int(x), 0, int(x), h)
        painter.end()
