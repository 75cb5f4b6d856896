"""The classifier's 1000 ImageNet classes in the WordNet noun hierarchy, from a file shipped with the app.

Why: the network photosim runs is an ImageNet classifier, so every photo gets class probabilities
for free, but its classes are narrow ("tench", "Cardigan", "four-poster"). WordNet places each class
under more general nouns (tench < cyprinid < ... < fish < vertebrate < animal), so "fish" can find a
photo labelled "tench", and "furniture" one labelled "four-poster". The part of WordNet 3.0 above the
1000 classes (1,860 synsets, 3,253 words) is shipped as ``resources/wordnet/imagenet-wordnet.json``,
made by ``packaging/tools/make_wordnet_resource.py`` from Debian's ``wordnet-base``: nothing is
downloaded or parsed from the full database at run time (it loads in about 70 ms).

Words are matched the way a person types them: any case, spaces or hyphens or underscores alike,
plurals ("dogs", "geese", "boxes") reduced to the singular WordNet lists.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

#: A folder holding ``imagenet-wordnet.json``; searched before the copy beside the package.
FILLER_WORDS = frozenset(
    "a an the of in on at by with without and or but to from for into onto near under over some any my our "
    "your their his her its this that these those photo photos picture pictures image images pic pics shot shots"
    .split())
"""Words people put around what they look for ("a fish in the water", "photos of my dogs"): left out
when the taxonomy does not know them (it never drops a word it knows), instead of being "unknown"."""

EVERYDAY_WORDS: dict[str, tuple[str, ...]] = {
    # places and scenes, by the classes that show them
    "beach": ("seashore", "sandbar"),
    "sea": ("seashore", "sandbar", "coral reef", "promontory"),
    "ocean": ("seashore", "sandbar", "coral reef", "promontory"),
    "lake": ("lakeside",),
    "snow": ("alp", "ski", "snowmobile", "snowplow", "dogsled"),
    "garden": ("greenhouse", "lawn mower", "picket fence", "patio", "pot"),
    "park": ("park bench",),
    "street": ("street sign", "traffic light", "parking meter", "cab", "trolleybus", "streetcar"),
    "kitchen": ("kitchen appliance", "kitchen utensil", "refrigerator", "stove", "dishwasher", "mixing bowl",
                "wooden spoon", "ladle", "strainer"),
    "bathroom": ("bathtub", "tub", "shower curtain", "washbasin", "toilet seat"),
    "bedroom": ("four-poster", "quilt"),
    # animals by their everyday names
    "cow": ("ox",),
    "chicken": ("hen", "cock"),
    "puppy": ("dog",),
    "kitten": ("domestic cat",),
    # things and occasions
    "book": ("book jacket", "bookcase", "bookshop", "comic book", "library"),
    "beer": ("beer bottle", "beer glass"),
    "baby": ("crib", "cradle", "bassinet", "diaper"),
    "football": ("soccer ball", "football helmet", "rugby ball"),
    "soccer": ("soccer ball",),
    "tennis": ("tennis ball", "racket"),
    "golf": ("golf ball", "golfcart"),
    "sport": ("soccer ball", "rugby ball", "football helmet", "tennis ball", "racket", "golf ball", "basketball",
              "volleyball", "baseball", "ping-pong ball", "ski", "puck"),
    "swimming": ("swimming trunks", "bikini", "maillot", "snorkel", "scuba diver"),
    "christmas": ("Christmas stocking",),
    "halloween": ("jack-o'-lantern",),
    "wedding": ("groom",),
    "people": ("person",),
    "tv": ("television",),
    "smartphone": ("cellular telephone",),
    "music": ("musical instrument",),
    # a WordNet word whose classes miss most of what people mean by it: its targets are added
    "flower": ("vase", "pot"),
}
"""Words people search their photos with that name no synset of the ImageNet tree ("beach", "cow",
"kitchen", "wedding"), each with the classes (or known words) whose photos show it: the search box's
own example "beach" was "a word photosim does not know" while "seashore" found the beaches. Each
word is searched, completed and counted as the union of its targets; the look-alike vectors do not
use words, so they do not change. A word WordNet has keeps its own classes and gains the targets:
"flower" covers two ImageNet classes (daisy, yellow lady's slipper), and the classifier calls most
photos of flowers "vase" or "pot" (the flowerpot class), so "flower" found 1 photo in the category
benchmark's 24 flowers over rooms (bench/categories.py, word search)."""

LOOKS_WORDS = frozenset(
    "red green blue yellow black white pink purple violet brown grey gray beige turquoise golden silver "
    "colorful colourful colour color dark bright sunny cloudy blurry blurred sharp old new big small little "
    "large tiny cute beautiful pretty happy funny nice lovely".split())
"""Colours and looks: words people add to a search ("red flower", "cute puppy") that no label
carries. Left out with a word saying why, rather than the spellings they resemble ('red': bed)."""

RESOURCE_ENV = "PHOTOSIM_RESOURCES_DIR"
RESOURCE_FILE = "imagenet-wordnet.json"


class TaxonomyError(Exception):
    """The shipped WordNet resource is missing or unreadable."""


def resource_path() -> Path:
    """``$PHOTOSIM_RESOURCES_DIR/wordnet``, else ``resources/wordnet`` beside the package.

    In a PyInstaller bundle the package lies in ``_internal/photosim`` and the spec puts the file in
    ``_internal/resources/wordnet``: the same relative path as in the source tree.
    """
    if os.environ.get(RESOURCE_ENV):
        return Path(os.environ[RESOURCE_ENV]) / "wordnet" / RESOURCE_FILE
    return Path(__file__).resolve().parent.parent.parent / "resources" / "wordnet" / RESOURCE_FILE


def normalize_word(text: str) -> str:
    """'Golden_Retriever', 'golden-retriever ' and 'golden retriever' all become 'golden retriever'.

    Apostrophes are kept ("jack-o'-lantern" is a class) and dots too ("St. Bernard").
    """
    return " ".join(re.sub(r"[\s_\-]+", " ", text.strip().lower()).split())


#: Regular English plural endings, tried in order (WordNet's own "morphy" rules for nouns).
_PLURAL_RULES = (("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
                 ("ies", "y"), ("s", ""))


@dataclass(frozen=True)
class Synset:
    wnid: str
    lemmas: tuple[str, ...]
    parents: tuple[str, ...]

    @property
    def word(self) -> str:
        """The synset's first lemma: the word WordNet lists first for it."""
        return self.lemmas[0]


class Taxonomy:
    """The 1000 classes, their names, and every word above them in WordNet.

    Class ``i`` is column ``i`` of the classifier's output. A *word* is any lemma of a class synset or
    of one of its ancestors, lower case; a word may name several synsets ("crane": a bird and a
    machine), and a word's classes are all the classes below any of them (its hyponyms).
    """

    def __init__(self, data: dict) -> None:
        self.class_wnids: list[str] = [c["wnid"] for c in data["classes"]]
        self.class_names: list[str] = [c["name"] for c in data["classes"]]
        self.synsets: dict[str, Synset] = {
            wnid: Synset(wnid, tuple(s["lemmas"]), tuple(s["parents"])) for wnid, s in data["synsets"].items()
        }
        self.plurals: dict[str, str] = dict(data.get("plurals", {}))
        self.node_ids: list[str] = list(self.synsets)
        self._node_index = {wnid: i for i, wnid in enumerate(self.node_ids)}
        # Ancestors (the class itself included) of every class, as node indices.
        self.class_nodes: list[np.ndarray] = []
        for wnid in self.class_wnids:
            nodes = self._ancestors(wnid) | {wnid}
            self.class_nodes.append(np.array(sorted(self._node_index[n] for n in nodes), dtype=np.int32))
        # Word -> synsets carrying it; synset -> classes below it.
        self._word_synsets: dict[str, list[str]] = {}
        for wnid, synset in self.synsets.items():
            for lemma in synset.lemmas:
                self._word_synsets.setdefault(normalize_word(lemma), []).append(wnid)
        # Everyday words: each carries the synsets of its targets (a class's own, or a known word's).
        by_class_name = {name: wnid for name, wnid in zip(self.class_names, self.class_wnids, strict=True)}
        self.everyday: dict[str, list[str]] = {}
        for word, targets in EVERYDAY_WORDS.items():
            wnids: list[str] = []
            for target in targets:
                wnids += [by_class_name[target]] if target in by_class_name else self._word_synsets.get(
                    normalize_word(target), [])
            if wnids:
                self.everyday[word] = list(dict.fromkeys(wnids))
                own = self._word_synsets.get(word, [])  # a WordNet word keeps its own meaning too
                self._word_synsets[word] = list(dict.fromkeys(own + self.everyday[word]))
        below: dict[str, set[int]] = {}
        for index, nodes in enumerate(self.class_nodes):
            for node in nodes:
                below.setdefault(self.node_ids[node], set()).add(index)
        self._classes_below = {wnid: np.array(sorted(c), dtype=np.int32) for wnid, c in below.items()}
        self._depth: dict[str, int] = {}
        self.words: list[str] = sorted(self._word_synsets)
        self._longest_word = max(len(w.split()) for w in self.words)
        self._class_word_ids: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_wnids)

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    def _ancestors(self, wnid: str) -> set[str]:
        seen: set[str] = set()
        stack = [wnid]
        while stack:
            for parent in self.synsets[stack.pop()].parents:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen

    def depth(self, wnid: str) -> int:
        """Steps from the root ("entity") by the shortest path."""
        if wnid not in self._depth:
            parents = self.synsets[wnid].parents
            self._depth[wnid] = 0 if not parents else 1 + min(self.depth(p) for p in parents)
        return self._depth[wnid]

    # -- words ---------------------------------------------------------------------------------
    def lemma_form(self, word: str) -> str | None:
        """The known word a typed word stands for ('Dogs' -> 'dog', 'geese' -> 'goose'), or None."""
        w = normalize_word(word)
        if not w:
            return None
        if w in self._word_synsets:
            return w
        head, _, last = w.rpartition(" ")
        prefix = head + " " if head else ""
        if last in self.plurals and prefix + self.plurals[last] in self._word_synsets:
            return prefix + self.plurals[last]
        if w in self.plurals:
            return self.plurals[w]
        for suffix, replacement in _PLURAL_RULES:
            if last.endswith(suffix) and len(last) > len(suffix):
                candidate = prefix + last[: -len(suffix)] + replacement
                if candidate in self._word_synsets:
                    return candidate
        return None

    def is_known(self, word: str) -> bool:
        return self.lemma_form(word) is not None

    def synsets_for(self, word: str) -> list[Synset]:
        lemma = self.lemma_form(word)
        return [self.synsets[w] for w in self._word_synsets.get(lemma, [])] if lemma else []

    def classes_for(self, word: str) -> np.ndarray:
        """Indices of the classes a word covers: the classes below any synset carrying the word."""
        found = [self._classes_below[s.wnid] for s in self.synsets_for(word)]
        if not found:
            return np.zeros(0, dtype=np.int32)
        return np.unique(np.concatenate(found))

    def split_words(self, tokens: Iterable[str]) -> tuple[list[str], list[str]]:
        """Group typed tokens into known words, longest first ("golden retriever", "ice cream").

        Returns (known words in their lemma form, tokens that are no known word); the
        :data:`FILLER_WORDS` it does not know are in neither.
        """
        parts = [p for t in tokens for p in normalize_word(t).split(" ") if p]
        known: list[str] = []
        unknown: list[str] = []
        i = 0
        while i < len(parts):
            for n in range(min(self._longest_word, len(parts) - i), 0, -1):
                lemma = self.lemma_form(" ".join(parts[i : i + n]))
                if lemma is not None:
                    known.append(lemma)
                    i += n
                    break
            else:
                if parts[i] not in FILLER_WORDS:
                    unknown.append(parts[i])
                i += 1
        return known, unknown

    def words_of_class(self, index: int) -> list[str]:
        """Every word that finds photos of class ``index``: its own lemmas and all its ancestors', and
        the :data:`EVERYDAY_WORDS` whose targets are among them."""
        nodes = {self.node_ids[n] for n in self.class_nodes[index]}
        words = {normalize_word(lemma) for wnid in nodes for lemma in self.synsets[wnid].lemmas}
        words.update(word for word, wnids in self.everyday.items() if nodes.intersection(wnids))
        return sorted(words)

    def class_word_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """Indices into :attr:`words` of every class's words, flat: ``flat[offsets[c]:offsets[c + 1]]``.

        Built once per taxonomy (about 0.1 s): completion counts photos per word with it.
        """
        if self._class_word_ids is None:
            index = {w: i for i, w in enumerate(self.words)}
            per_class = [np.array([index[w] for w in self.words_of_class(c)], dtype=np.int32)
                         for c in range(self.n_classes)]
            offsets = np.zeros(len(per_class) + 1, dtype=np.int64)
            offsets[1:] = np.cumsum([len(a) for a in per_class])
            self._class_word_ids = (np.concatenate(per_class), offsets)
        return self._class_word_ids

    def broader(self, index: int, *, min_depth: int = 4) -> list[str]:
        """General words for class ``index``, nearest first, leaving out the abstract top of the tree.

        For a tabby: "domestic cat", "cat", "feline", "carnivore", "placental", "mammal", ...
        (``min_depth`` 4 drops "entity", "physical entity", "object", "whole").
        """
        distance = {self.class_wnids[index]: 0}
        queue = [self.class_wnids[index]]
        for wnid in queue:  # breadth first, upwards
            for parent in self.synsets[wnid].parents:
                if parent not in distance:
                    distance[parent] = distance[wnid] + 1
                    queue.append(parent)
        out: list[str] = []
        for wnid in queue[1:]:
            word = normalize_word(self.synsets[wnid].word)
            if self.depth(wnid) >= min_depth and word not in out:
                out.append(word)
        return out


@lru_cache(maxsize=2)
def load_taxonomy(path: str | None = None) -> Taxonomy:
    """The shipped taxonomy (cached: every caller shares one copy)."""
    target = Path(path) if path else resource_path()
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TaxonomyError(f"cannot read the WordNet resource {target}: {exc}") from exc
    return Taxonomy(data)
