"""The status bar's presenter: the library summary, indexing progress with rate and time left, pause,
a duplicate pass's progress with cancel, problems, and short messages."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton

from ..core.events import ModelLoaded
from ..core.progress import Progress, format_duration
from ..core.service import IndexReport, LibraryService
from ..core.snapshot import LibrarySnapshot
from .bridge import ServiceBridge


class StatusPresenter(QObject):
    """Owns the status bar's widgets and keeps them true to the service.

    Signals:
        problems_requested(): the user clicked the problems button.
    """

    problems_requested = Signal()

    def __init__(self, service: LibraryService, bridge: ServiceBridge, bar: QStatusBar,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.bar = bar
        self.last_progress: Progress | None = None
        self.device = ""
        self.summary = QLabel("")
        bar.addWidget(self.summary, 1)
        self.progress_text = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setFixedWidth(180)
        self.progress_bar.setTextVisible(False)
        self.pause_button = QToolButton()
        self.pause_button.setText("Pause")
        self.pause_button.setToolTip("Pause or resume indexing")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.problems_button = QToolButton()
        self.problems_button.setObjectName("problems")
        self.problems_button.clicked.connect(self.problems_requested)
        # a duplicate pass runs beside indexing (between its batches), so it has widgets of its own
        self.dup_text = QLabel("")
        self.dup_text.setObjectName("duplicatesProgress")
        self.dup_bar = QProgressBar()
        self.dup_bar.setFixedWidth(120)
        self.dup_bar.setTextVisible(False)
        self.dup_cancel = QToolButton()
        self.dup_cancel.setText("Cancel")
        self.dup_cancel.setToolTip("Stop looking for duplicates (the checks made so far are kept)")
        self.dup_cancel.clicked.connect(self.cancel_duplicates)
        for widget in (self.progress_text, self.progress_bar, self.pause_button, self.dup_text, self.dup_bar,
                       self.dup_cancel, self.problems_button):
            bar.addPermanentWidget(widget)
            widget.hide()
        # Qt hides the summary while a message shows, but re-shows it whenever the bar re-lays itself
        # out (a progress widget shown or hidden), and the two texts were then drawn over each other:
        # the summary is hidden and shown here, explicitly, after Qt's own handling of each message.
        bar.messageChanged.connect(self._message_changed)
        bridge.snapshot_published.connect(self.show_snapshot)
        bridge.progressed.connect(self.show_progress)
        bridge.run_started.connect(self.run_started)
        bridge.run_finished.connect(self.run_finished)
        bridge.model_loaded.connect(self.model_loaded)
        bridge.noticed.connect(lambda text: self.show_message(text, 10000))
        bridge.duplicates_progressed.connect(self.show_duplicates_progress)

    # -- messages --------------------------------------------------------------------------------
    def show_message(self, text: str, timeout_ms: int = 5000) -> None:
        self.bar.showMessage(text, timeout_ms)

    @Slot(str)
    def _message_changed(self, message: str) -> None:
        self.summary.setVisible(not message)

    # -- service events --------------------------------------------------------------------------
    @Slot(object)
    def show_snapshot(self, snapshot: LibrarySnapshot) -> None:
        n, folders = snapshot.photos, len(snapshot.folders)
        self.summary.setText(f"{n:,} photo{'s' if n != 1 else ''} in {folders} folder{'s' if folders != 1 else ''}")
        problems = snapshot.problems
        if problems:
            self.problems_button.setText(f"⚠ {problems:,} problem{'s' if problems != 1 else ''}")
            self.problems_button.show()
        else:
            self.problems_button.hide()

    @Slot(object)
    def model_loaded(self, event: ModelLoaded) -> None:
        self.device = event.device
        where = "the CPU" if event.device == "cpu" else event.device.upper()
        if not event.notice:
            self.show_message(f"Model ready on {where}.", 4000)

    @Slot(bool)
    def run_started(self, full: bool) -> None:
        self.pause_button.show()
        self.progress_text.setText("Checking folders…" if full else "Updating…")
        self.progress_text.show()

    @Slot(object)
    def show_progress(self, progress: Progress) -> None:
        self.last_progress = progress
        if progress.phase == "scanning":
            self.progress_bar.setRange(0, 0)
            self.progress_text.setText("Looking for new photos…")
        elif progress.phase == "indexing":
            self.progress_bar.setRange(0, max(1, progress.total))
            self.progress_bar.setValue(progress.done)
            if self.service.paused:
                text = f"Paused · {progress.done:,} / {progress.total:,}"
            else:
                pace = (f"{progress.rate:.1f} img/s · {format_duration(progress.eta)} left" if progress.rate > 0
                        else "starting…")  # no rate before the first batch is in
                text = f"{progress.done:,} / {progress.total:,} · {pace}"
            self.progress_text.setText(text)
        elif progress.phase == "saving":
            self.progress_text.setText("Saving…")
        else:
            return
        for widget in (self.progress_bar, self.progress_text, self.pause_button):
            widget.show()

    @Slot(object)
    def run_finished(self, report: IndexReport) -> None:
        self.last_progress = None
        if not self.service.has_pending:
            for widget in (self.progress_bar, self.progress_text, self.pause_button):
                widget.hide()
        if report.indexed or report.removed or report.moved:
            parts = []
            if report.indexed:
                parts.append(f"{report.indexed:,} indexed")
            if report.moved:
                parts.append(f"{report.moved:,} moved")
            if report.removed:
                parts.append(f"{report.removed:,} removed")
            if report.failed:
                parts.append(f"{report.failed:,} could not be read")
            self.show_message("Library updated: " + ", ".join(parts) + ".", 8000)

    @Slot(object)
    def show_duplicates_progress(self, progress: Progress) -> None:
        """A duplicate pass's progress: pairs checked from their files, with rate and time left."""
        if progress.phase == "duplicates: done" or (progress.phase == "duplicates: checking pairs"
                                                    and progress.done >= progress.total):
            self.duplicates_finished()
            return
        what = progress.phase.removeprefix("duplicates: ")
        if progress.total:
            self.dup_bar.setRange(0, progress.total)
            self.dup_bar.setValue(progress.done)
            unit = "pairs" if "pairs" in what else "photos"
            rate = f" · {progress.rate:.0f} {unit}/s" if progress.rate else ""
            left = f" · {format_duration(progress.eta)} left" if progress.eta is not None else ""
            text = f"Duplicates: {what} {progress.done:,} / {progress.total:,}{rate}{left}"
        else:
            self.dup_bar.setRange(0, 0)
            text = f"Duplicates: {what}…"
        self.dup_text.setText(text)
        for widget in (self.dup_text, self.dup_bar, self.dup_cancel):
            widget.show()

    @Slot()
    def duplicates_finished(self) -> None:
        for widget in (self.dup_text, self.dup_bar, self.dup_cancel):
            widget.hide()

    @Slot()
    def cancel_duplicates(self) -> None:
        self.service.cancel_duplicates()
        self.dup_text.setText("Duplicates: stopping…")
        self.dup_cancel.hide()

    # -- user actions ----------------------------------------------------------------------------
    @Slot()
    def toggle_pause(self) -> None:
        if self.service.paused:
            self.service.resume()
            self.pause_button.setText("Pause")
            self.show_message("Indexing resumed.", 3000)
        else:
            self.service.pause()
            self.pause_button.setText("Resume")
            progress = self.last_progress
            if progress is not None and progress.phase == "indexing":
                self.progress_text.setText(f"Paused · {progress.done:,} / {progress.total:,}")
            else:
                self.progress_text.setText("Paused")
            self.show_message("Indexing paused.", 3000)
