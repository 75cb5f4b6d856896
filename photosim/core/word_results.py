"""A word search's answer in the shape of a result set, so one results view shows both kinds.

The grid, the header and the command line show a :class:`~photosim.core.results.ResultSet` for photo
queries; a word search ("dog", "beach") gives photos ranked by how strongly their labels match. Shaped
alike (``results``, ``shown``, ``cutoff``, ``more``, ``header()``), the views need no second path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .results import Result

WORD = "word"
"""The ``match`` of a word-search result: labelled like the words (neither a copy nor a look-alike)."""


@dataclass(frozen=True)
class WordResults:
    words: list[str]
    results: list[Result] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    message: str | None = None
    """Why nothing was found ("no photo is labelled like that: dog"); None when something was."""
    suggestions: list[str] = field(default_factory=list)
    """Known words an unknown one probably meant ('bir': bird), for the view to offer."""
    note: str | None = None
    """Beside the photos found: the words left out ("left out 'red', a word photosim does not know")."""
    described: str = ""
    """The words as asked for ("fish or bird"); default: the words, all of them."""

    same: int = 0
    variant: str = ""

    @property
    def cutoff(self) -> int:
        return len(self.results)

    @property
    def shown(self) -> list[Result]:
        return list(self.results)

    @property
    def more(self) -> int:
        return 0

    @property
    def similar(self) -> int:
        return len(self.results)

    def header(self) -> str:
        if self.message:
            return self.message[0].upper() + self.message[1:]
        n = len(self.results)
        text = f"{n} photo{'' if n == 1 else 's'} labelled {self.described or ' and '.join(self.words)}"
        return f"{text}; {self.note}" if self.note else text


def word_results(found: object) -> WordResults:
    """From a :class:`~photosim.core.tags.TextSearch`."""
    hits = list(getattr(found, "hits", []))
    return WordResults(
        words=list(getattr(found, "words", [])),
        results=[Result(h.photo_id, h.path, float(h.score), WORD) for h in hits],
        unknown=list(getattr(found, "unknown", [])),
        message=getattr(found, "message", None),
        suggestions=list(getattr(found, "suggestions", [])),
        note=getattr(found, "note", None),
        described=str(getattr(found, "described", "")),
    )
