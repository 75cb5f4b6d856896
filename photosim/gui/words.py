"""Searching by words: the search box (Ctrl+K / Ctrl+L) with completion of the words photosim knows,
and the "only: dog" field that narrows a result list by a word.

Words come from each photo's ImageNet labels mapped up the WordNet tree (``dog`` covers every breed).
The known words, with how many photos carry them, are read on the service's query lane (a few
seconds for a big library the first time) and refreshed after indexing runs that changed something.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QStringListModel, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from ..core.service import IndexReport, LibraryService
from .bridge import ServiceBridge
from .results import ResultsPresenter

MAX_WORDS = 5000
"""Completion offers at most this many words (those carried by the most photos)."""


def known_words(lane: Any) -> list[tuple[str, int]]:
    """(word, photos carrying it), most common first: runs on the query lane."""
    labels = lane.labels
    counts = labels.word_counts()
    words = labels.taxonomy.words
    order = sorted((i for i in range(len(counts)) if counts[i]), key=lambda i: (-int(counts[i]), words[i]))
    return [(words[i], int(counts[i])) for i in order[:MAX_WORDS]]


class LastWordCompleter(QCompleter):
    """Completes the last word typed ("a red ca": cat, giving "a red cat"), or the whole text while a
    known phrase starts with it ("golden retr": golden retriever). A plain completer on a line edit
    completes the whole text only, so nothing was offered once a sentence was typed.

    Qt asks :meth:`splitPath` what to match (a list model matches its first part) and
    :meth:`pathFromIndex` what the line becomes when a word is picked.
    """

    def __init__(self, words: QStringListModel, parent: QObject | None = None) -> None:
        super().__init__(words, parent)
        self._words = words

    def _phrase(self, text: str) -> bool:
        """Does some known word start with the whole ``text``?"""
        wanted = text.strip().lower()
        return " " in wanted and any(w.lower().startswith(wanted) for w in self._words.stringList())

    def splitPath(self, path: str) -> list[str]:  # noqa: N802 (Qt's name)
        if self._phrase(path):
            return [path.strip()]
        last = path.rsplit(" ", 1)[-1]
        return [last] if last else ["\0"]  # after a space: nothing to offer yet (not every word)

    def pathFromIndex(self, index: QModelIndex) -> str:  # noqa: N802 (Qt's name)
        word = super().pathFromIndex(index)
        typed = self.completionPrefix()
        if " " not in typed.strip() or self._phrase(typed):
            return word
        return f"{typed.rsplit(' ', 1)[0]} {word}"


class WordBox(QLineEdit):
    """A line edit with completion of known words (the last word typed is completed)."""

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.words = QStringListModel(self)
        self.completer_ = LastWordCompleter(self.words, self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer_.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.setCompleter(self.completer_)

    def set_words(self, words: list[str]) -> None:
        self.words.setStringList(words)


class _Relay(QObject):
    """Signals:
    words_loaded(object): the known words (list of (word, count)) read on the query lane.
    """

    words_loaded = Signal(object)


class WordsPresenter(QObject):
    """Keeps completion current and turns what is typed into word searches and narrowing.

    Signals:
        words_changed(int): the number of known words now offered for completion.
    """

    words_changed = Signal(int)

    def __init__(self, service: LibraryService, bridge: ServiceBridge, search_box: WordBox, only_box: WordBox,
                 results: ResultsPresenter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.search_box = search_box
        self.only_box = only_box
        self.results = results
        self.words: list[tuple[str, int]] = []
        self._relay = _Relay(self)
        self._relay.words_loaded.connect(self._words_loaded)
        self._loading = False
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(1500)  # a burst of runs (a phone sync) refreshes the words once
        self._timer.timeout.connect(self.refresh)
        bridge.run_finished.connect(self._run_finished)
        bridge.model_loaded.connect(lambda _event: self._timer.start())
        search_box.returnPressed.connect(self._search)
        only_box.returnPressed.connect(self._narrow)

    # -- completion ------------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        """Read the known words again (on the query lane)."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        future = self.service.submit_call(known_words)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Any]) -> None:  # on the query lane's thread
        try:
            words = future.result()
        except Exception:
            words = None
        self._relay.words_loaded.emit(words)

    @Slot(object)
    def _words_loaded(self, words: object) -> None:
        self._loading = False
        if isinstance(words, list):
            self.words = words
            names = [w for w, _n in words]
            self.search_box.set_words(names)
            self.only_box.set_words(names)
            self.words_changed.emit(len(names))
        if self._again:
            self._again = False
            self.refresh()

    @Slot(object)
    def _run_finished(self, report: IndexReport) -> None:
        if report.any_change or not self.words:
            self._timer.start()

    # -- searching -------------------------------------------------------------------------------
    @Slot()
    def _search(self) -> None:
        text = self.search_box.text().strip()
        if text:
            self.results.find_by_words(text)

    @Slot()
    def _narrow(self) -> None:
        self.results.narrow(self.only_box.text().strip() or None)
