"""Results that mean something: "same photo" before "similar", and a cutoff per query.

:func:`rank_query` is the per-query half of the engine, kept apart from the index and the catalog so
the benchmark drives exactly the code the app runs: it takes the query (vector and, when there is
one, its picture), a way to search and a way to embed, and returns a :class:`ResultSet`:

* every result is ``"same"`` (an edited or re-saved copy of the query, decided by
  :class:`~photosim.core.matching.SamePhotoTest` on the copy-detection vector) or ``"similar"``;
  copies come first;
* the similar photos are *look-alikes* (:mod:`photosim.core.semantic`: photos of the same kind of
  thing, by what the classifier sees in them) when the library has labels, ranked by the look-alike
  score, and end at a cutoff computed from this query's look-alike scores (:func:`look_alike_threshold`);
  before them come the *near copies*: photos the copy vector puts at least :data:`SIMILAR_Z` above
  the query's background that the check did not confirm as the same photo (another shot of the
  scene, a burst, a copy too altered to verify), with their copy cosines, since a look-alike list
  alone would lose an unverified original from the top of the list;
  a library without labels yet, or a model without class probabilities, gets the copy vector's
  similar photos and its cutoff instead (:data:`SIMILAR_Z`);
* when the upright query finds no copy, the query is tried turned by a quarter, a half and three
  quarters, as two regions (its middle and its central band) and as its four quarters, since a
  photo saved sideways without an EXIF tag, shown inside a screenshot or a photo of a screen, or
  covered in stickers, is far from its original as a whole but close once turned or cut out; what
  these variants find counts only if it is verified as the same photo, so they never add
  look-alikes of a sideways picture;
* near copies the check found consistent but could not confirm (a bare room, too few textured
  regions) come first among the near copies: they have evidence, the others only a cosine;
* the results end where they stop being meaningful for this query; the rest is kept for
  "Show N more".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PIL import Image

from .matching import SIMILAR, VERIFY_MARGIN, Background, Decision, Features, ImageSource, Match, SamePhotoTest

SIMILAR_Z = 3.0
"""Without look-alikes (no labels yet): similar photos by the copy vector are shown down to this many
standard deviations above the query's unrelated background. bench/same_photo.py swept it: at 3.0
the copy-vector cutoff keeps 1.2% of unrelated photos, and (since that vector is made for copies, not
for kinds of things) only 1% of the query's category look-alikes."""
NEAR_FLOOR = 0.4
"""A near copy needs this copy-vector cosine as well as SIMILAR_Z: in a small library the background
is estimated from a few photos and can be so tight that a room scores 3 standard deviations above it
for a cat (0.36). Edited copies sit higher: the lowest of the benchmark's 616 is 0.43."""

ALIKE_FRACTION = 0.7
"""Look-alikes are shown down to this fraction of the way from the bulk of the library (the query's
unrelated background, :class:`~photosim.core.matching.Background`) to its best look-alike: relative
to the best look-alike, so that a query with close look-alikes (five cats) is not padded out with
distant ones (dogs), and one whose best look-alike is far still shows its nearest kind. Chosen on the
category benchmark's cutoff sweep (``python -m bench.run --only categories``, 2026-11-22; birds,
mammals, fruit, flowers, vegetables, rooms among distractors): with ALIKE_MIN_Z, 0.7 keeps 35% of the
query's category and 1.2% of the other photos, and 85% of what it shows is of the query's category
(0.6: 43% / 2.3% / 81%; 0.8: 22% / 0.5% / 87%)."""
ALIKE_MIN_Z = 2.5
"""...but never below this many standard deviations above that bulk, so a query with nothing alike in
the library (a cat among rooms and microscope slides) shows no look-alike rather than its least
unrelated photos. Measured with ALIKE_FRACTION 0.7 (same run): 2.0 keeps more of the category (41%
plain, 21% composited, against 35% / 17%) but shows more that is not (precision 0.83 plain instead of
0.85; 0.73 composited either way). The floor is the weak half of this cutoff: with the query's whole
category taken out of its library, 82% of plain queries still show something (93% at 2.0, 67% at 3.0,
which keeps only 27% of the category), since the look-alike descriptor's scores between unrelated
kinds have a long upper tail."""
ALIKE_SURE = 0.85
"""...and the ALIKE_MIN_Z floor never asks more than this look-alike cosine. Found trying the app on a
55-photo folder: four of its six flower photos had three others at 0.88-0.89 and none was shown,
because that library's unrelated photos spread so widely (a background of 0.58 +- 0.19) that 2.5
standard deviations asked for 1.05; 39 of its 55 photos showed no look-alike at all (33 with this
ceiling, and those flowers their three flowers). On the category benchmark's sets (``python -m
bench.run --only categories``, 14:06 UTC, and five random 55-photo libraries of each set in a script)
0.85 keeps more of the query's category at the same precision (plain 0.38 / 0.85 instead of
0.35 / 0.85, composited 0.18 / 0.76 instead of 0.17 / 0.73), leaves fewer queries with nothing
(plain 1% instead of 7%, composited 22% instead of 34%; in the 55-photo libraries 7% / 32% instead
of 16% / 42%), and shows about as much when the query's kind is missing (83% / 64% of queries
instead of 82% / 63%); 0.8 kept more still but showed something for 75% of composited queries with
no photo of their kind."""
VERIFY_POOL = 24
"""Candidates fetched for the "same" decision even when fewer results are asked for."""
MAX_VERIFY = 8
"""Candidates of the upright query verified geometrically, at most (each costs 20-40 ms here)."""
VARIANT_TOP = 3
"""Candidates of each turned or cut-out variant of the query that are verified."""
MAX_VARIANT_VERIFY = 8


@dataclass(frozen=True)
class Result:
    """One photo in a result list."""

    photo_id: int
    path: str
    score: float
    match: Match = SIMILAR
    reason: str = ""


@dataclass(frozen=True)
class ResultSet:
    """A query's results: copies first, then similar photos, best first; ``cutoff`` marks where they
    stop being meaningful (``results[:cutoff]`` are shown; the rest is "Show N more")."""

    results: list[Result] = field(default_factory=list)
    cutoff: int = 0
    same: int = 0
    variant: str = ""
    """Which form of the query found the copies ("" upright, "turned 90", "middle region"...)."""
    background: Background | None = None
    """The query's background in this library by the copy vector (what "same" is measured against)."""
    look_alikes: bool = False
    """True when the similar results are look-alikes: their scores are look-alike cosines and
    ``alike_background`` is what the cutoff measured them against (but the ``near`` ones first, scored
    by their copy cosine); False: copy-vector cosines."""
    alike_background: Background | None = None
    threshold: float | None = None
    """The score at which the similar results were cut off (None: no similar candidates)."""
    near: int = 0
    """With look-alikes: how many near copies (``results[same:same + near]``) precede them."""

    @property
    def similar(self) -> int:
        """Similar photos before the cutoff."""
        return self.cutoff - self.same

    @property
    def more(self) -> int:
        """Results beyond the cutoff (among those fetched)."""
        return len(self.results) - self.cutoff

    @property
    def shown(self) -> list[Result]:
        return self.results[: self.cutoff]

    @property
    def rest(self) -> list[Result]:
        return self.results[self.cutoff :]

    def header(self) -> str:
        """What the results header says: "1 copy of this photo, 8 similar photos", "3 similar photos",
        "No similar photos"."""
        n = self.similar
        similar = f"{n} similar photo{'' if n == 1 else 's'}"
        if not self.same:
            return similar if n else "No similar photos"
        copies = f"{self.same} {'copy' if self.same == 1 else 'copies'} of this photo"
        return f"{copies}, {similar}" if n else copies

    def with_cutoff(self, min_score: float | None = None, *, show_all: bool = False) -> "ResultSet":
        """The same results with the cutoff moved: ``show_all`` shows everything fetched; ``min_score``
        shows copies and every result scoring at least that much."""
        if show_all:
            cutoff = len(self.results)
        elif min_score is not None:
            cutoff = self.same + sum(1 for r in self.results[self.same :] if r.score >= min_score)
        else:
            return self
        return replace(self, cutoff=cutoff)


def remap_results(answer: Any, change: Callable[[Result], Result | None]) -> Any:
    """``answer`` (a :class:`ResultSet`, or any dataclass answer with a ``results`` list, such as a
    word search's) with each result replaced by ``change(result)``, or left out where that is None.

    For a result set the copies, the near copies and the cutoff keep their meaning: each counts only
    what it kept. Used when photos leave the library while their results are on screen (moved to the
    trash from the grid or the Duplicates page), and when an undo brings them back under new ids.
    """
    kept: list[Result] = []
    if not isinstance(answer, ResultSet):
        for result in answer.results:
            new = change(result)
            if new is not None:
                kept.append(new)
        return replace(answer, results=kept)
    same = near = cutoff = 0
    for i, result in enumerate(answer.results):
        new = change(result)
        if new is None:
            continue
        kept.append(new)
        same += i < answer.same
        near += answer.same <= i < answer.same + answer.near
        cutoff += i < answer.cutoff
    return replace(answer, results=kept, same=same, near=near, cutoff=cutoff)


Candidate = tuple[int, str, float]  # (photo id, path, cosine)
SearchFn = Callable[[np.ndarray, int], Sequence[Candidate]]
EmbedFn = Callable[[Sequence[Image.Image]], np.ndarray]


@dataclass(frozen=True)
class LookAlikeQuery:
    """What the "similar" half of a result list needs from the look-alike index: the query's look-alike
    vector, a search by it (same filters as the copy search: folder, the query photo left out, files
    that exist) and a random sample of the library's look-alike vectors (the query's background)."""

    vector: np.ndarray
    search: SearchFn
    sample: np.ndarray


def look_alike_threshold(best: float, background: Background) -> float:
    """Where a query's look-alikes stop: :data:`ALIKE_FRACTION` of the way from the bulk of the library
    to the query's ``best`` look-alike score, and at least :data:`ALIKE_MIN_Z` above that bulk (or
    :data:`ALIKE_SURE`, when that is lower)."""
    return max(min(background.center + ALIKE_MIN_Z * background.spread, ALIKE_SURE),
               background.center + ALIKE_FRACTION * (best - background.center))


def query_variants(image: Image.Image, *, quarters: bool = True) -> list[tuple[str, Image.Image]]:
    """The query turned (a photo saved sideways without an orientation tag), cut to the regions
    where a screenshot or a photo of a screen keeps the picture (its middle, its central band), and
    cut into ``quarters``: stickers or emoji pasted over a plain or repetitive picture (grass, a
    starry sky) outweigh it in the copy vector, and at least one quarter is usually free of them."""
    w, h = image.size
    out = [
        ("turned 90", image.transpose(Image.Transpose.ROTATE_90)),
        ("turned 180", image.transpose(Image.Transpose.ROTATE_180)),
        ("turned 270", image.transpose(Image.Transpose.ROTATE_270)),
        ("middle region", image.crop((w * 3 // 20, h * 3 // 20, w * 17 // 20, h * 17 // 20))),
    ]
    if h > w * 1.2:  # a portrait screen around a picture: the picture sits in a band across the middle
        out.append(("central band", image.crop((0, h // 4, w, h * 3 // 4))))
    elif w > h * 1.2:
        out.append(("central band", image.crop((w // 4, 0, w * 3 // 4, h))))
    if not quarters:
        return out
    for name, (x, y) in (("top left", (0, 0)), ("top right", (1, 0)), ("bottom left", (0, 1)), ("bottom right", (1, 1))):
        out.append((f"{name} quarter", image.crop((x * w // 2, y * h // 2, (x + 1) * w // 2, (y + 1) * h // 2))))
    return out


def rank_query(
    vector: np.ndarray,
    k: int,
    search: SearchFn,
    test: SamePhotoTest,
    *,
    query_image: ImageSource | None = None,
    variants: Callable[[], Sequence[tuple[str, Image.Image]]] | None = None,
    embed: EmbedFn | None = None,
    look_alikes: LookAlikeQuery | None = None,
    another_shot: Callable[[int], str | None] | None = None,
) -> ResultSet:
    """Results for one query vector: fetch, decide "same" for the close calls, try the query's
    variants when no copy was found, order copies first, then the similar photos, place the cutoff.

    ``search(vector, n)`` returns the ``n`` best candidates (id, path, cosine), best first, already
    filtered (folder, excluded ids, files that exist). ``query_image`` (a path or a decoded upright
    picture) enables the geometric check; ``variants`` and ``embed`` enable the turned and cut-out
    forms of the query. Without them only near-identical vectors count as copies. ``look_alikes``
    makes the similar photos look-alikes (else: the copy vector's nearest that are not copies).
    ``another_shot(photo_id)`` says why a candidate is another shot than the query (its capture time
    differs: :func:`~photosim.core.matching.other_shot`), or None: such a candidate is never a copy,
    however alike, as in the duplicate finder; it comes first among the close photos.
    """
    vector = np.asarray(vector, dtype=np.float32)
    background = test.background(vector)
    candidates = list(search(vector, max(k, VERIFY_POOL)))
    decisions = test.classify(vector, [c[2] for c in candidates], [c[1] for c in candidates],
                              query_image, max_verify=MAX_VERIFY, background=background)
    found: dict[int, tuple[Candidate, Decision]] = {c[0]: (c, d) for c, d in zip(candidates, decisions, strict=True)}
    variant_name = ""
    if not any(d.same for d in decisions) and variants is not None and embed is not None and query_image is not None:
        variant_name = _try_variants(variants(), embed, search, test, found)
    shots: dict[int, str] = {}
    if another_shot is not None:
        for pid, (cand, decision) in list(found.items()):
            if decision.same and (why := another_shot(pid)):
                shots[pid] = why
                found[pid] = (cand, replace(decision, match=SIMILAR))

    def result(c: Candidate, d: Decision) -> Result:
        return Result(c[0], c[1], float(c[2]), d.match, shots.get(c[0], d.reason))

    same = sorted((cd for cd in found.values() if cd[1].same), key=lambda cd: -cd[0][2])
    copies = [result(c, d) for c, d in same]
    n_same = len(copies)
    variant_name = variant_name if n_same else ""
    if look_alikes is not None:
        near = sorted((cd for cd in found.values() if not cd[1].same and cd[0] in candidates
                       and (cd[1].consistent or cd[0][0] in shots
                            or (background.z(cd[0][2]) >= SIMILAR_Z and cd[0][2] >= NEAR_FLOOR))),
                      key=lambda cd: (cd[0][0] not in shots, not cd[1].consistent, -cd[0][2]))
        near_results = [result(c, d) for c, d in near][: max(k - n_same, 0)]
        return _with_look_alikes(copies, near_results, k, look_alikes, background, variant_name)
    similar = [cd for cd in found.values() if not cd[1].same and cd[0] in candidates]
    similar.sort(key=lambda cd: (cd[0][0] not in shots, -cd[0][2]))
    results = (copies + [result(c, d) for c, d in similar])[: max(k, n_same)]
    cutoff = n_same + sum(1 for r in results[n_same:] if background.z(r.score) >= SIMILAR_Z)
    threshold = background.center + SIMILAR_Z * background.spread if len(results) > n_same else None
    return ResultSet(results, cutoff, n_same, variant_name, background, threshold=threshold)


def _with_look_alikes(copies: list[Result], near: list[Result], k: int, look_alikes: LookAlikeQuery,
                      background: Background, variant: str) -> ResultSet:
    """Copies, near copies (all shown), then the query's look-alikes (the others left out), down to the
    look-alike cutoff."""
    n_same = len(copies)
    taken = {r.photo_id for r in copies + near}
    want = max(k - n_same - len(near), 0)
    pool = look_alikes.search(look_alikes.vector, want + len(taken)) if want else []
    similar = [Result(pid, path, float(score)) for pid, path, score in pool if pid not in taken][:want]
    alike_background = Background.of(np.asarray(look_alikes.vector, dtype=np.float32), look_alikes.sample)
    threshold = look_alike_threshold(similar[0].score, alike_background) if similar else None
    shown = sum(1 for r in similar if threshold is not None and r.score >= threshold)
    return ResultSet(copies + near + similar, n_same + len(near) + shown, n_same, variant, background,
                     look_alikes=True, alike_background=alike_background, threshold=threshold, near=len(near))


def _try_variants(variants: Sequence[tuple[str, Image.Image]], embed: EmbedFn, search: SearchFn,
                  test: SamePhotoTest, found: dict[int, tuple[Candidate, Decision]]) -> str:
    """Search with each variant; verify its best new candidates against the variant's own picture.
    Adds verified copies to ``found`` and returns the name of the variant that found the first one."""
    if not variants:
        return ""
    vectors = embed([im for _, im in variants])
    pending: list[tuple[float, str, Image.Image, np.ndarray, Candidate]] = []
    for (name, image), vec in zip(variants, vectors, strict=True):
        for cand in search(vec, VARIANT_TOP):
            if cand[0] not in found or not found[cand[0]][1].same:
                pending.append((cand[2], name, image, vec, cand))
    pending.sort(key=lambda p: -p[0])
    checked: set[int] = set()
    first = ""
    plan = []
    for score, name, image, vec, cand in pending:
        if cand[0] in checked or len(checked) >= MAX_VARIANT_VERIFY:
            continue
        checked.add(cand[0])
        background = test.background(vec)
        close = len(test.sample) == 0 or background.margin(score) >= VERIFY_MARGIN  # decide() will verify
        plan.append((score, name, image, cand, background, close))
    # The keypoints of the variants (each once, however many candidates it is checked against) and of
    # the candidates worth a check, computed side by side; decide() below then finds them ready.
    features: dict[str, Features] = {}
    if any(close for *_, close in plan):
        features = test.features_side_by_side({name: image for _s, name, image, _c, _b, close in plan if close},
                                              [cand[1] for _s, _n, _i, cand, _b, close in plan if close])
    # a turned variant is the whole picture; a cut-out region may cut through the photo it holds
    decisions = test.decide_many([(score, background, features.get(name, image) if close else image, cand[1],
                                   name.startswith("turned")) for score, name, image, cand, background, close in plan])
    for (_score, name, _image, cand, _background, _close), decision in zip(plan, decisions, strict=True):
        if decision.same:
            original = found.get(cand[0])
            kept = original[0] if original is not None else cand
            found[cand[0]] = (kept, decision)
            first = first or name
    return first
