"""Labels: what the classifier says a photo shows, and finding photos by a word.

Every photo the indexer embeds also gets its ImageNet class probabilities from the same forward pass
(:meth:`photosim.core.embedder.BatchedEmbedder.analyse_arrays`). The catalog keeps the best
:data:`TOP_K` of them per photo, 4 bytes each (a uint16 class, a float16 probability; 80 bytes a
photo, 80 MB at 1M photos), in ``photo_labels`` beside the camera named in the EXIF. From them:

* **tags** (:func:`tags_of`): the likeliest classes with their probabilities and the general words
  above them in WordNet (:mod:`photosim.core.wordnet`): a tabby is also a cat, a mammal, an animal.
* **word search** (:class:`LabelIndex`): a word's score for a photo is the probability mass of all
  the classes below the word ("dog": the 118 breeds), so general words work and several weak
  guesses of one kind add up. A photo *carries* a word when that score is at least
  :data:`MIN_WORD_SCORE`.
* **completion** (:meth:`LabelIndex.complete`): known words by prefix, ranked by how many photos
  carry them; and **narrowing** any result list by a word (:meth:`LabelIndex.narrow`).
* **the look-alike descriptor** (:mod:`photosim.core.semantic`) is computed from the same labels.

Libraries indexed before labels existed are filled in by :class:`LabelBackfill`, which re-runs the
model on the photos that have none (resumable: whatever it committed stays; cheap to check: one
anti-join, :meth:`photosim.core.catalog.Catalog.count_missing_labels`).
"""

from __future__ import annotations

import difflib
import io
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from .catalog import INDEXED, Catalog
from .images import FileRead, ImageLoadError, decode_photo, read_file
from .paths import is_within
from .progress import Progress, RateMeter, RunControl
from .wordnet import LOOKS_WORDS, Taxonomy, load_taxonomy, normalize_word

if TYPE_CHECKING:
    from .library import Library

log = logging.getLogger(__name__)

#: Classes kept per photo. The look-alike descriptor made from the top 20 is as good as the one made
#: from all 1000 on the category benchmark (precision@5 0.86 / 0.72 against 0.85 / 0.71 on the plain
#: and composited photos); while choosing, the top 10 gave 0.85 / 0.73 and the top 5 0.84 / 0.71.
TOP_K = 20
#: Probabilities below this are not stored (they neither tag nor move the descriptor).
MIN_STORED = 1e-4
#: A photo carries a word when the probability mass of the word's classes is at least this. On the
#: category benchmark, 0.05, 0.1, 0.15 and 0.25 give the same word-search precision@10 on the plain
#: photos; on the composited ones 0.1 returns more of the right photos than 0.15 (fish 5 against 3)
#: at the same precision, 0.05 a few more again (vegetable 8 against 6) but then weak guesses start
#: to count.
MIN_WORD_SCORE = 0.1
#: Tags shown for a photo: classes at least this likely, at most TAGS_SHOWN of them.
MIN_TAG_PROBABILITY = 0.05
TAGS_SHOWN = 5
#: Classes below this probability are ignored when counting words for completion (they cannot lift
#: a word over MIN_WORD_SCORE on their own, and skipping them makes the count 4x cheaper).
COUNT_MIN = 0.01
#: Shown when a word search finds nothing.
NO_MATCH = "no photo is labelled like that"

_LABEL_DTYPE = np.dtype([("c", "<u2"), ("p", "<f2")])


def labels_model_for(model_id: str) -> str:
    """The recipe id stored with a photo's labels: the network's id plus how labels are made from it."""
    return f"{model_id}+labels-regionmax-top{TOP_K}-v1"


def encode_labels(probabilities: np.ndarray) -> bytes:
    """One photo's class probabilities -> its best TOP_K (class, probability) pairs, best first."""
    p = np.asarray(probabilities, dtype=np.float32)
    order = np.argsort(-p, kind="stable")[:TOP_K]
    order = order[p[order] >= MIN_STORED]
    out = np.empty(len(order), dtype=_LABEL_DTYPE)
    out["c"] = order
    out["p"] = p[order]
    return out.tobytes()


def decode_labels(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(classes int32, probabilities float32) of a stored labels blob, best first."""
    arr = np.frombuffer(blob, dtype=_LABEL_DTYPE)
    return arr["c"].astype(np.int32), arr["p"].astype(np.float32)


def stack_labels(blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Many blobs -> (N, TOP_K) classes and probabilities, padded with class 0 at probability 0."""
    classes = np.zeros((len(blobs), TOP_K), dtype=np.int16)
    probs = np.zeros((len(blobs), TOP_K), dtype=np.float32)
    for i, blob in enumerate(blobs):
        arr = np.frombuffer(blob, dtype=_LABEL_DTYPE)
        n = min(len(arr), TOP_K)
        classes[i, :n] = arr["c"][:n]
        probs[i, :n] = arr["p"][:n]
    return classes, probs


def camera_of(source: FileRead | bytes | str | os.PathLike[str]) -> str | None:
    """'Make Model' from a photo's EXIF ('Apple iPhone 12', 'Canon EOS 80D'), or None.

    Only the header is parsed (no pixels decoded): a fraction of a millisecond per photo. The model
    alone is returned when it already starts with the make, as most makers' models do.
    """
    try:
        if isinstance(source, FileRead):
            fp: Any = io.BytesIO(source.data) if source.data is not None else source.path
        elif isinstance(source, (bytes, bytearray)):
            fp = io.BytesIO(bytes(source))
        else:
            fp = os.fspath(source)
        with Image.open(fp) as im:
            exif = im.getexif()
    except Exception:
        return None
    make = _exif_text(exif.get(0x010F))
    model = _exif_text(exif.get(0x0110))
    if model and make and not model.lower().startswith(make.split()[0].lower()):
        model = f"{make} {model}"
    text = model or make
    return text[:80] if text else None


def _exif_text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).replace("\x00", " ").split()) if value else ""


# -- tags --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tag:
    """One label of a photo: a class name, how likely it is, and the general words above it."""

    name: str
    probability: float
    wnid: str
    broader: tuple[str, ...]


def tags_of(blob: bytes, taxonomy: Taxonomy | None = None, *, limit: int = TAGS_SHOWN,
            min_probability: float = MIN_TAG_PROBABILITY) -> list[Tag]:
    """A photo's likeliest labels, best first (at least one, however unsure the classifier is)."""
    taxonomy = taxonomy or load_taxonomy()
    classes, probs = decode_labels(blob)
    out = []
    for c, p in zip(classes.tolist(), probs.tolist(), strict=True):
        if len(out) >= limit or (out and p < min_probability):
            break
        out.append(Tag(taxonomy.class_names[c], float(p), taxonomy.class_wnids[c], tuple(taxonomy.broader(c))))
    return out


# -- word search -------------------------------------------------------------------------------
_BETWEEN_WORDS = re.compile(r"[,;:!?()\[\]{}\"+&|/]+")
"""Characters that only ever stand between the words of a search (no class name holds one)."""


@dataclass(frozen=True)
class WordHit:
    """A photo found by words; ``score`` is the probability mass of the words' classes (0..1)."""

    photo_id: int
    path: str
    score: float


@dataclass
class TextSearch:
    """The outcome of a word search: hits best first, the words understood, and those that were not."""

    hits: list[WordHit]
    words: list[str]
    unknown: list[str] = field(default_factory=list)
    #: Known words the first unknown one probably meant ('bir' -> bird, 'brid' -> bird), most carried first.
    suggestions: list[str] = field(default_factory=list)
    #: The alternatives asked for ("fish or bird": [[fish], [bird]]), each a list of words all required;
    #: empty means one alternative, :attr:`words`.
    groups: list[list[str]] = field(default_factory=list)
    #: No photo carried all the words at once, so these are the photos carrying any of them ("cat dog").
    either: bool = False
    #: The narrowing filter the hits also carry ("only dogs"), as typed.
    only: str | None = None

    @property
    def described(self) -> str:
        """The words as asked for: 'fish or bird', 'dog and beach'."""
        return " or ".join(" and ".join(g) for g in (self.groups or [self.words]))

    @property
    def message(self) -> str | None:
        """What to tell the user when nothing was found (None when something was)."""
        if self.hits:
            return None
        if not self.words:
            return f"{NO_MATCH}: {self.unknown_text}" if self.unknown else f"{NO_MATCH}: no words given"
        only = f", only {self.only}" if self.only else ""
        return f"{NO_MATCH}: {self.described}{only}" + (f"; {self.unknown_text}" if self.unknown else "")

    @property
    def note(self) -> str | None:
        """What to tell the user beside the photos found when some words were left out ("red flower":
        the flowers, and that photosim knows no word 'red'); None otherwise."""
        if not self.hits:
            return None
        notes = []
        if self.either:
            notes.append(f"no photo is labelled {' and '.join(repr(w) for w in self.words)} together; "
                         "these are labelled with one of them")
        notes += unknown_words_text(self.unknown, self.suggestions, left_out=True)
        return "; ".join(notes) or None

    @property
    def unknown_text(self) -> str:
        return "; ".join(unknown_words_text(self.unknown, self.suggestions))


class LabelIndex:
    """The labels of every indexed photo, in memory, for word search, completion and narrowing.

    Loaded from the catalog on first use (0.8 s for 100k photos, 128 bytes each in memory) and brought
    up to date before each query when the catalog's labels changed (only the new rows are read; the
    check itself took 24 ms at 100k). One word scores 100k photos in about 30 ms. Thread-safe.
    """

    def __init__(self, library: Library, taxonomy: Taxonomy | None = None, catalog: Catalog | None = None) -> None:
        """``catalog``: a reader connection of the caller's own (the service's query lane); default: the library's."""
        self.library = library
        self.catalog = catalog if catalog is not None else library.catalog
        self.taxonomy = taxonomy or load_taxonomy()
        self.model = labels_model_for(library.model_id)
        self._lock = threading.RLock()
        self._stamp: tuple[int, int] | None = None
        self.ids = np.zeros(0, dtype=np.int64)
        self.classes = np.zeros((0, TOP_K), dtype=np.int16)
        self.probs = np.zeros((0, TOP_K), dtype=np.float32)
        self._counts: np.ndarray | None = None

    def __len__(self) -> int:
        self.refresh()
        return len(self.ids)

    # -- loading ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read what changed in the catalog since the last call (nothing when nothing did)."""
        catalog = self.catalog
        with self._lock:
            stamp = catalog.labels_stamp(self.model)
            if stamp == self._stamp:
                return
            want = catalog.labelled_ids(self.model).astype(np.int64)
            keep = np.isin(self.ids, want)
            new = np.setdiff1d(want, self.ids, assume_unique=True)
            ids, classes, probs = [self.ids[keep]], [self.classes[keep]], [self.probs[keep]]
            for chunk_ids, blobs in catalog.iter_labels(self.model, ids=new.tolist()):
                c, p = stack_labels(blobs)
                ids.append(np.asarray(chunk_ids, dtype=np.int64))
                classes.append(c)
                probs.append(p)
            self.ids = np.concatenate(ids)
            order = np.argsort(self.ids, kind="stable")
            self.ids = self.ids[order]
            self.classes = np.concatenate(classes)[order]
            self.probs = np.concatenate(probs)[order]
            self._stamp = stamp
            self._counts = None

    # -- scoring ---------------------------------------------------------------------------------
    def scores(self, word: str) -> np.ndarray:
        """Each photo's score for one word (aligned with :attr:`ids`): the mass of the word's classes."""
        table = np.zeros(self.taxonomy.n_classes, dtype=bool)
        table[self.taxonomy.classes_for(word)] = True
        return (self.probs * table[self.classes]).sum(axis=1)

    def _groups(self, tokens: Iterable[str]) -> tuple[list[list[str]], list[str]]:
        """Typed tokens -> (alternatives, each a list of known words all required; unknown words).

        "or" separates alternatives; punctuation between words ("fish, bird") separates them as a
        space does; filler words are left out (:meth:`Taxonomy.split_words`)."""
        alternatives: list[list[str]] = [[]]
        for token in tokens:
            for part in normalize_word(_BETWEEN_WORDS.sub(" ", token)).split(" "):
                if part == "or":
                    alternatives.append([])
                elif part:
                    alternatives[-1].append(part)
        groups: list[list[str]] = []
        unknown: list[str] = []
        for alternative in alternatives:
            known, not_known = self.taxonomy.split_words(alternative)
            if known and known not in groups:
                groups.append(known)
            unknown += [u for u in not_known if u not in unknown]
        return groups, unknown

    def _carrying(self, groups: Sequence[Sequence[str]], min_score: float) -> np.ndarray:
        """Which photos (aligned with :attr:`ids`; call under the lock) carry every word of some group."""
        return self._combine(groups, {w: self.scores(w) for g in groups for w in g}, min_score)[0]

    def search(self, tokens: Iterable[str], k: int | None = 50, *, only: str | None = None,
               folder: str | None = None, min_score: float = MIN_WORD_SCORE) -> TextSearch:
        """Photos labelled like the words, best first.

        Tokens are grouped into known words first ("golden retriever", "ice cream"). Words together
        must all match (AND: "dog beach"), and a photo's score for them is the geometric mean of its
        scores for each; "or" between words asks for alternatives ("fish or bird": a photo's best
        alternative counts). When no photo carries every word of a single alternative but some carry
        one of them ("cat dog": few photos are both), those are found instead and
        :attr:`TextSearch.note` says so. Filler words the taxonomy does not know ("a", "of",
        "photos") are left out; any other word it does not know is left out too when some are known
        ("red flower" finds the flowers, the note says 'red' was left out), and with none known the
        search finds nothing (:attr:`TextSearch.message` says why). ``only``: keep the photos labelled
        like this too (as :meth:`narrow` does; an unknown word raises ValueError), after the
        alternatives are chosen, so "cat", only "beverage" finds nothing rather than either.
        ``folder`` (a normalised path inside a watched folder; ValueError otherwise): only the photos
        inside it, at any depth, before the alternatives are chosen ("cat dog" in a folder where no
        photo has both finds that folder's cats and dogs).
        """
        groups, unknown = self._groups(tokens)
        words = list(dict.fromkeys(w for g in groups for w in g))
        strange = [u for u in unknown if u not in LOOKS_WORDS]
        suggestions = self.suggest(strange[0]) if strange else []
        if not words:
            return TextSearch([], words, unknown, suggestions, groups)
        narrowing = self.only_groups(only) if only else None
        self.refresh()
        with self._lock:
            ids = self.ids
            per_word = {w: self.scores(w) for w in words}
            wanted = self._carrying(narrowing, min_score) if narrowing else None
        inside = self._inside(folder, ids) if folder else None
        ok, combined = self._combine(groups, per_word, min_score)
        if inside is not None:
            ok &= inside
        either = False
        if not ok.any() and len(groups) == 1 and len(words) > 1:
            ok, combined = self._combine([[w] for w in words], per_word, min_score)
            if inside is not None:
                ok &= inside
            either = bool(ok.any())
        found = TextSearch([], words, unknown, suggestions, groups if len(groups) > 1 else [], either,
                           only.strip() if only else None)
        if wanted is not None:
            ok &= wanted
        if not ok.any():
            return found
        rows = np.flatnonzero(ok)
        rows = rows[np.argsort(-combined[rows], kind="stable")]
        catalog = self.catalog
        for start in range(0, len(rows), 256):  # skip photos whose file vanished since indexing
            part = rows[start : start + 256]
            photo_rows = catalog.get_many(ids[part].tolist())
            for r in part.tolist():
                row = photo_rows.get(int(ids[r]))
                if row is None or row.state != INDEXED or not os.path.exists(row.path):
                    continue
                found.hits.append(WordHit(row.id, row.path, float(combined[r])))
                if k is not None and len(found.hits) >= k:
                    return found
        return found

    def _inside(self, folder: str, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` are photos inside ``folder`` (one catalog read of its watched folder)."""
        owner = self.catalog.folder_for(folder)
        if owner is None:
            raise ValueError(f"not inside a watched folder: {folder}")
        within = [row.id for row in self.catalog.photos_in_folder(owner.id).values() if is_within(row.path, folder)]
        return np.isin(ids, np.asarray(within, dtype=ids.dtype))

    @staticmethod
    def _combine(groups: Sequence[Sequence[str]], per_word: dict[str, np.ndarray],
                 min_score: float) -> tuple[np.ndarray, np.ndarray]:
        """(photos matching some group, their best group's score): every word of a group must reach
        ``min_score``; a group's score is the geometric mean of its words' scores."""
        n = len(next(iter(per_word.values())))
        ok = np.zeros(n, dtype=bool)
        best = np.zeros(n, dtype=np.float64)
        for group in groups:
            scores = [per_word[w] for w in group]
            group_ok = np.logical_and.reduce([s >= min_score for s in scores])
            score = np.exp(np.mean([np.log(np.maximum(s, 1e-12)) for s in scores], axis=0))
            best = np.where(group_ok & (score > best), score, best)
            ok |= group_ok
        return ok, best

    def narrow(self, results: Sequence[Any], word: str, *, min_score: float = MIN_WORD_SCORE) -> list[Any]:
        """Keep the results (anything with a ``photo_id``) whose photo carries ``word``, in order.

        "Similar to this photo, only dogs". Typed as people type it ("a dog", "dogs and cats": photos
        carrying every known word; "dogs or cats": either; filler words left out). A word photosim
        does not know raises ValueError (say so rather than return nothing).
        """
        groups = self.only_groups(word)
        self.refresh()
        with self._lock:
            wanted = set(self.ids[self._carrying(groups, min_score)].tolist())
        return [r for r in results if int(r.photo_id) in wanted]

    def only_groups(self, text: str) -> list[list[str]]:
        """The alternatives of a narrowing filter ("a dog": [[dog]]; "dogs or cats": [[dog], [cat]]),
        checked before a search is run for it (the window's query lane, ``--only``) and by
        :meth:`narrow`; ValueError naming a word photosim does not know, with the words it may have
        meant."""
        groups, unknown = self._groups([text])
        if unknown or not groups:
            bad = unknown[:1] or [text.strip()]
            suggestions = self.suggest(bad[0]) if bad[0] not in LOOKS_WORDS else []
            raise ValueError(f"{NO_MATCH}: {'; '.join(unknown_words_text(bad, suggestions))}")
        return groups

    # -- completion ------------------------------------------------------------------------------
    def word_counts(self, *, min_score: float = MIN_WORD_SCORE) -> np.ndarray:
        """How many photos carry each word of ``taxonomy.words`` (cached until the labels change).

        Exact up to classes below COUNT_MIN, which are left out of the sums. The first call after the
        labels changed took 4 s for 100k photos (synthetic labels spread thinner than real ones, on a
        busy 2-core machine); a GUI should ask from a worker thread and keep the answer.
        """
        self.refresh()
        with self._lock:
            if self._counts is not None:
                return self._counts
            flat, offsets = self.taxonomy.class_word_ids()
            n_words = len(self.taxonomy.words)
            counts = np.zeros(n_words, dtype=np.int64)
            chunk = 2048  # photos per step: a (chunk, words) float64 mass table of 50 MB
            for start in range(0, len(self.ids), chunk):
                cls = self.classes[start : start + chunk].astype(np.int64)
                prb = self.probs[start : start + chunk]
                rows, cols = np.nonzero(prb >= COUNT_MIN)
                c, p = cls[rows, cols], prb[rows, cols]
                lens = offsets[c + 1] - offsets[c]
                within = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
                words = flat[np.repeat(offsets[c], lens) + within]
                cells = np.repeat(rows, lens).astype(np.int64) * n_words + words
                mass = np.bincount(cells, weights=np.repeat(p, lens), minlength=len(cls) * n_words)
                counts += (mass.reshape(len(cls), n_words) >= min_score).sum(axis=0)
            self._counts = counts
            return counts

    def complete(self, prefix: str, limit: int = 10, *, include_empty: bool = False) -> list[tuple[str, int]]:
        """Known words starting with ``prefix`` (or with a word of it: 'retr' finds 'golden retriever'),
        ranked by how many photos carry them, then alphabetically; words no photo carries are left out
        unless ``include_empty``."""
        p = normalize_word(prefix)
        if not p:
            return []
        counts = self.word_counts()
        found = []
        for i, word in enumerate(self.taxonomy.words):
            if word.startswith(p) or any(part.startswith(p) for part in word.split(" ")[1:]):
                n = int(counts[i])
                if n or include_empty:
                    found.append((word, n))
        found.sort(key=lambda wn: (-wn[1], not wn[0].startswith(p), wn[0]))
        return found[:limit]

    def suggest(self, word: str, limit: int = 3) -> list[str]:
        """Known words a person probably meant by one photosim does not know: those it begins ('bir':
        bird), else close spellings ('brid', 'cta': bird, cat). Only words some photo of the library
        carries, so that following a suggestion finds something."""
        found = [w for w, _n in self.complete(word, limit)]
        if len(found) < limit:
            counts = self.word_counts()
            carried = [w for i, w in enumerate(self.taxonomy.words) if counts[i]]
            for close in difflib.get_close_matches(normalize_word(word), carried, n=limit, cutoff=0.6):
                if close not in found:
                    found.append(close)
        return found[:limit]


def unknown_words_text(unknown: Sequence[str], suggestions: Sequence[str], *, left_out: bool = False) -> list[str]:
    """What to say about words photosim does not know: colours and looks ('red', 'cute') are not
    what labels say; other words are unknown, with the words they may have meant."""
    looks = [u for u in unknown if u in LOOKS_WORDS]
    strange = [u for u in unknown if u not in LOOKS_WORDS]
    out = []
    if looks:
        named = ", ".join(repr(u) for u in looks)
        out.append(f"left out {named}: photosim finds what photos show, not colours or looks" if left_out
                   else f"photosim finds what photos show, not colours or looks ({named})")
    if strange:
        named = ", ".join(repr(u) for u in strange)
        what = "a word" if len(strange) == 1 else "words"
        out.append(f"left out {named}, {what} photosim does not know{did_you_mean(suggestions)}" if left_out
                   else f"photosim knows no word {named}{did_you_mean(suggestions)}")
    return out


def did_you_mean(suggestions: Sequence[str]) -> str:
    """' (did you mean 'bird' or 'birch'?)', or '' without suggestions."""
    if not suggestions:
        return ""
    quoted = [repr(w) for w in suggestions]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f" (did you mean {listed}?)"


# -- photo info --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhotoInfo:
    """What a side panel shows about one photo."""

    photo_id: int
    path: str
    folder: str
    file_size: int
    width: int | None
    height: int | None
    taken_at: float | None
    modified_at: float
    camera: str | None
    tags: list[Tag]
    analysed: bool  # False until the photo has labels (a library being backfilled)


def photo_info(library: Library, photo_id: int, taxonomy: Taxonomy | None = None,
               catalog: Catalog | None = None) -> PhotoInfo | None:
    """Everything the catalog knows about a photo, for the GUI's side panel (None: no such photo)."""
    catalog = catalog if catalog is not None else library.catalog
    row = catalog.get(photo_id)
    if row is None:
        return None
    labels = catalog.labels_of(photo_id)
    current = labels is not None and labels[0] == labels_model_for(library.model_id)
    tags = tags_of(labels[1], taxonomy) if labels is not None and current else []
    return PhotoInfo(
        photo_id=row.id, path=row.path, folder=os.path.dirname(row.path), file_size=row.size,
        width=row.width, height=row.height, taken_at=row.taken_at, modified_at=row.mtime_ns / 1e9,
        camera=labels[2] if labels is not None else None, tags=tags, analysed=current,
    )


# -- backfill ----------------------------------------------------------------------------------
@dataclass
class BackfillReport:
    labelled: int = 0
    skipped: int = 0  # changed, vanished or unreadable since indexing: the next index run redoes them
    seconds: float = 0.0
    cancelled: bool = False
    unsupported: bool = False  # the model gives no class probabilities (an old ONNX export)


class LabelBackfill:
    """Gives labels to indexed photos that have none (a library indexed before labels existed).

    Re-runs the model on those photos only, in batches, each committed in one transaction: stopping
    at any point loses at most a batch, and the next run goes on where this one stopped (the work
    list is always "indexed photos without labels", one anti-join). A photo whose file changed since
    it was indexed is skipped: the indexer will re-embed it, labels included. The copy vectors are
    not touched.
    """

    def __init__(self, library: Library, *, batch_size: int = 32, workers: int | None = None) -> None:
        if not library.writable:
            raise ValueError("the backfill needs a writable library")
        self.library = library
        self.batch_size = batch_size
        self.workers = workers or max(1, min(4, os.cpu_count() or 2))
        self.model = labels_model_for(library.model_id)

    def pending(self) -> int:
        """Photos still to label (cheap: one query)."""
        return self.library.catalog.count_missing_labels(self.model)

    def run(self, control: RunControl | None = None,
            on_progress: Callable[[Progress], None] | None = None) -> BackfillReport:
        control = control or RunControl()
        report = BackfillReport()
        started = time.monotonic()
        catalog = self.library.catalog
        total = self.pending()
        if not total:
            return report
        embedder = self.library.embedder
        min_side = self.library.backbone.decode_min_side
        meter = RateMeter()
        meter.update(0)
        after = 0
        done = 0

        def prepare(row: Any) -> tuple[Any, np.ndarray | None, str | None]:
            try:
                read = read_file(row.path)
                if read.fingerprint != row.fingerprint:
                    return row, None, None
                photo = decode_photo(read, min_side)
                return row, embedder.prepare(photo.image), camera_of(read)
            except ImageLoadError:
                return row, None, None
            except Exception as exc:  # a decoder bug must not stop the backfill
                log.warning("backfill: %s: %s", row.path, exc)
                return row, None, None

        with ThreadPoolExecutor(self.workers, thread_name_prefix="photosim-labels") as pool:
            while not control.cancelled:
                control.wait_if_paused()
                rows = catalog.photos_missing_labels(self.model, limit=self.batch_size, after_id=after)
                if not rows:
                    break
                after = rows[-1].id
                prepared = list(pool.map(prepare, rows))
                ok = [(row, arr, cam) for row, arr, cam in prepared if arr is not None]
                report.skipped += len(rows) - len(ok)
                if ok:
                    analysis = embedder.analyse_arrays([arr for _, arr, _ in ok])
                    if analysis.probabilities is None:
                        report.unsupported = True
                        log.warning("the model gives no class probabilities; photos cannot be labelled")
                        break
                    with catalog.transaction():
                        for (row, _, cam), probs in zip(ok, analysis.probabilities, strict=True):
                            current = catalog.get(row.id)  # still the same photo?
                            if current is None or current.fingerprint != row.fingerprint:
                                report.skipped += 1
                                continue
                            catalog.set_labels(row.id, self.model, encode_labels(probs), cam)
                            report.labelled += 1
                done += len(rows)
                rate = meter.update(done)
                if on_progress is not None:
                    eta = (total - done) / rate if rate > 0 else None
                    on_progress(Progress("labelling", min(done, total), total, rate, eta, rows[-1].path))
        report.cancelled = control.cancelled
        report.seconds = time.monotonic() - started
        return report
