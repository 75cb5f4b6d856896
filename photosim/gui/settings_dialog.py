"""The settings dialog: compute device, number of results, thumbnail size, excluded folders."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.devices import DEVICE_LABELS, device_label
from ..core.paths import normalize_path
from ..core.settings import RESULTS_MAX, RESULTS_MIN, THUMB_MAX, THUMB_MIN, THUMB_STEP, Settings


class SettingsDialog(QDialog):
    """Edits a copy of the settings; :meth:`result_settings` gives the edited copy. No signals of its own."""

    def __init__(self, settings: Settings, current_device: str | None = None, parent: QWidget | None = None,
                 watched: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self._watched = tuple(watched)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(480)
        self._initial_device = settings.device
        self._initial = settings  # what the dialog does not edit (duplicate settings) is kept as it was
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.device = QComboBox()
        for key, label in DEVICE_LABELS.items():
            self.device.addItem(label, key)
        self.device.setCurrentIndex(list(DEVICE_LABELS).index(settings.device))
        form.addRow("Compute device:", self.device)
        self.device_note = QLabel(f"Now running on {device_label(current_device)}. A change takes effect at the next "
                                  "start." if current_device else "A change takes effect at the next start.")
        self.device_note.setObjectName("hint")
        form.addRow("", self.device_note)
        self.results = QSpinBox()
        self.results.setRange(RESULTS_MIN, RESULTS_MAX)
        self.results.setValue(settings.results)
        form.addRow("Number of results:", self.results)
        self.thumb = QSlider(Qt.Orientation.Horizontal)
        self.thumb.setRange(THUMB_MIN // THUMB_STEP, THUMB_MAX // THUMB_STEP)
        self.thumb.setValue(settings.thumb_size // THUMB_STEP)
        self.thumb_label = QLabel()
        self.thumb.valueChanged.connect(lambda v: self.thumb_label.setText(f"{v * THUMB_STEP} px"))
        self.thumb_label.setText(f"{self.thumb.value() * THUMB_STEP} px")
        row = QHBoxLayout()
        row.addWidget(self.thumb, 1)
        row.addWidget(self.thumb_label)
        form.addRow("Thumbnail size:", row)
        layout.addLayout(form)
        layout.addWidget(QLabel("Folders to exclude (never indexed, even inside a watched folder):"))
        self.excluded = QListWidget()
        self.excluded.addItems(settings.excluded)
        layout.addWidget(self.excluded, 1)
        buttons_row = QHBoxLayout()
        add = QPushButton("Exclude a folder…")
        add.clicked.connect(self._add_excluded)
        remove = self.remove_button = QPushButton("Remove")
        remove.clicked.connect(self._remove_excluded)
        remove.setEnabled(False)  # until a folder of the list is selected
        self.excluded.itemSelectionChanged.connect(lambda: remove.setEnabled(bool(self.excluded.selectedItems())))
        buttons_row.addWidget(add)
        buttons_row.addWidget(remove)
        buttons_row.addStretch(1)
        layout.addLayout(buttons_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def add_excluded(self, path: str) -> None:
        path = normalize_path(path)
        existing = [self.excluded.item(i).text() for i in range(self.excluded.count())]
        if path not in existing:
            self.excluded.addItem(path)

    def _add_excluded(self) -> None:
        # a folder to leave out is inside a watched one: open there, not where photosim was started
        start = next((p for p in self._watched if os.path.isdir(p)), os.path.expanduser("~"))
        path = QFileDialog.getExistingDirectory(self, "Exclude a folder", start)
        if path:
            self.add_excluded(path)

    def _remove_excluded(self) -> None:
        for item in self.excluded.selectedItems():
            self.excluded.takeItem(self.excluded.row(item))

    def result_settings(self) -> Settings:
        return replace(
            self._initial,
            device=self.device.currentData(),
            results=self.results.value(),
            thumb_size=self.thumb.value() * THUMB_STEP,
            excluded=[self.excluded.item(i).text() for i in range(self.excluded.count())],
        ).normalized()

    @property
    def device_changed(self) -> bool:
        return self.device.currentData() != self._initial_device
