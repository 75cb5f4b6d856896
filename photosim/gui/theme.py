"""A calm dark theme: photos look best on a dark neutral background."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

STYLE = """
QMainWindow, QDialog { background: #1e2024; }
#folderPanel { background: #24272c; border-right: 1px solid #30343a; }
#panelTitle { font-size: 11pt; font-weight: 600; color: #e8eaed; padding: 2px 2px 6px 2px; }
#folderList { background: transparent; border: none; color: #d5d8dd; show-decoration-selected: 0; }
#folderList::item { padding: 6px 4px; border-radius: 6px; }
#folderList::item:selected { background: #38506e; color: #ffffff; }
#hint { color: #8d939c; }
#queryHeader { background: #26292e; border-bottom: 1px solid #30343a; }
#headerTitle { font-size: 13pt; font-weight: 600; color: #f1f3f4; }
#headerSubtitle { color: #a3a9b2; }
#queryPreview { background: #181a1d; border: 1px solid #3a3f46; border-radius: 6px; color: #8d939c; }
#welcomeTitle { font-size: 20pt; font-weight: 600; color: #f1f3f4; padding-bottom: 8px; }
QPushButton { background: #33373d; color: #e8eaed; border: 1px solid #454a52; border-radius: 6px; padding: 5px 12px; }
QPushButton:hover { background: #3c4148; }
QPushButton:disabled { color: #6d727a; }
QPushButton#primary { background: #2f6fd0; border-color: #3b7be0; color: white; font-weight: 600; }
QPushButton#primary:hover { background: #3a7be0; }
QListView { background: #1e2024; color: #d5d8dd; }
QStatusBar { background: #24272c; color: #c3c7cd; border-top: 1px solid #30343a; }
QStatusBar QLabel { color: #c3c7cd; }
QProgressBar { background: #33373d; border: none; border-radius: 4px; height: 8px; max-height: 8px; }
QProgressBar::chunk { background: #5aa9f2; border-radius: 4px; }
QToolButton { color: #e8eaed; background: transparent; border: 1px solid transparent; border-radius: 5px; padding: 2px 8px; }
QToolButton:hover { background: #33373d; border-color: #454a52; }
QToolButton#problems { color: #f0a43c; }
QMenu { background: #2a2d33; color: #e8eaed; border: 1px solid #3a3f46; }
QMenu::item:selected { background: #38506e; }
QMenuBar { background: #24272c; color: #d5d8dd; }
QMenuBar::item:selected { background: #38506e; }
QSplitter::handle { background: #30343a; }
QLineEdit { background: #2a2d33; color: #e8eaed; border: 1px solid #454a52; border-radius: 6px; padding: 4px 8px;
            selection-background-color: #3b7be0; }
QLineEdit:focus { border-color: #3b7be0; }
#infoPanel { background: #24272c; border-left: 1px solid #30343a; }
#infoPanel QLabel { color: #d5d8dd; }
#infoName { font-weight: 600; color: #f1f3f4; padding-bottom: 6px; }
QCompleter QAbstractItemView, QListView#completer { background: #2a2d33; color: #e8eaed; }
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#1e2024",
        QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#1b1d20",
        QPalette.ColorRole.AlternateBase: "#24272c",
        QPalette.ColorRole.Text: "#d5d8dd",
        QPalette.ColorRole.Button: "#33373d",
        QPalette.ColorRole.ButtonText: "#e8eaed",
        QPalette.ColorRole.Highlight: "#3b7be0",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2a2d33",
        QPalette.ColorRole.ToolTipText: "#e8eaed",
        QPalette.ColorRole.Mid: "#4a4f57",
        QPalette.ColorRole.PlaceholderText: "#8d939c",
        QPalette.ColorRole.Link: "#6cb4ff",  # Qt's default dark blue is unreadable on these greys
        QPalette.ColorRole.LinkVisited: "#a98bff",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    app.setPalette(palette)
    app.setStyleSheet(STYLE)
