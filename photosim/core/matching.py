"""Is a result *the same photo* as the query (an edited or re-saved copy), or only a similar one?

A cosine alone cannot say: on the benchmark (``bench/same_photo.py``) a corner crop of a photo scores
0.59 against its original while two different shots of one table scene score 0.89 against each
other. So "same" is decided in two steps, and this module is the one place that does it, for the
search (:meth:`SamePhotoTest.classify`) and for the duplicate finder's "same photo" tier
(:meth:`SamePhotoTest.is_same` on two library photos):

1. **Background normalisation.** A pair is only worth a closer look when the candidate stands out
   from what the query scores against random photos of the library: ``score - background``, where
   ``background`` is the mean of the query's ten best similarities to a random sample of the library
   (:class:`Background`). Copy-detection work calls this score normalisation; here it is the gate
   that keeps the (costly) verification for the candidates that can be copies.
2. **Geometric verification** (:class:`GeometricVerifier`): ORB keypoints on the two pictures
   decoded small, a RANSAC homography (the query is also tried mirrored), then the test that tells
   an edited copy from another shot of the same scene: after warping the query onto the candidate,
   its grey levels must agree cell by cell *at zero shift* (a copy lies on the same pixel grid; a
   second shot of the scene has parallax and moved objects, so its cells agree best somewhere
   else, or not at all). Overlays (text, stickers, app chrome) spoil a few cells, not most.

Pictures too flat for keypoints (a white wall, a smooth dial) give the verifier nothing to go on;
for them only a near-identical vector counts as the same photo (:data:`SAME_COSINE_UNVERIFIED`).

Every threshold below is a named constant calibrated on the edited-copy benchmark (19 edits of 56
real photos, every other photo's copies as distractors); ``python -m bench.same_photo`` prints the
precision and recall they give, on all photos and on held-out halves.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

Match = Literal["same", "similar"]
SAME: Match = "same"
SIMILAR: Match = "similar"

# -- calibrated constants (bench/same_photo.py prints what they give) ---------------------------------
BACKGROUND_SAMPLE = 1000
"""Random library photos a query is compared with to learn its background (1000 vectors of 512
floats: 2 MB, one matrix product per query)."""
BACKGROUND_TOP = 10
"""The background level is the mean of the query's this many best background similarities: the
similarity the query reaches with photos that are merely alike (about the 99th percentile)."""

VERIFY_MARGIN = -0.08
"""A candidate is verified only when ``score - background >= VERIFY_MARGIN``. Below it, on the
benchmark, no edited copy was ever verified as the same photo, so the check would only cost time.
(Negative: a hard copy such as a photo of a print may score a little below the query's best
look-alikes and still be the same photo.)"""

SAME_COSINE_UNVERIFIED = 0.95
"""With no geometric evidence (pictures too flat for keypoints, or no image at hand) a pair is the
same photo only at this cosine or above. The benchmark's highest cosine between two *different*
photos (including different shots of one scene and every edited copy of each) is 0.89."""

VERIFY_SIDE = 512
"""Pictures are verified at this long side: enough for 1000 ORB keypoints; a 12 MP JPEG decodes to
it by DCT scaling in about 15 ms."""
ORB_FEATURES = 1000
RATIO_TEST = 0.8
"""Lowe's ratio test on the two nearest ORB descriptors: keeps distinctive matches only."""
RANSAC_PIXELS = 3.0
TIGHT_PIXELS = 2.0
"""A copy maps onto its original exactly (to keypoint accuracy, a pixel or two at 512 px, more for a
blurred or heavily compressed copy)."""
MIN_TIGHT_INLIERS = 15
"""Fewer matches within TIGHT_PIXELS of the homography than this: no geometric evidence. 25 (at 1.5 px) lost
blurred and vignetted copies (same recall 0.92 on a 133-query subset); the cell test below, not this
count, is what rejects other shots of a scene."""

CELL_SIDE = 256
"""The alignment check runs on the candidate reduced to this long side, in GRID x GRID cells."""
GRID = 8
CELL_SHIFT = 2
"""A cell is compared at zero shift and at every shift up to this many pixels (at CELL_SIDE)."""
CELL_MIN_STD = 3.0
"""Cells flatter than this (grey levels) in either picture carry no evidence and are skipped."""
CELL_NCC = 0.5
"""A cell agrees when its normalised cross-correlation at zero shift is at least this..."""
CELL_SHIFT_TOLERANCE = 0.1
"""...and no other shift correlates better by more than this (else the content is displaced:
another shot of the scene, not a copy)."""
MIN_CELLS = 6
"""Fewer informative cells than this (a flat picture): no geometric evidence."""
MIN_AGREEMENT = 0.8
"""The share of informative cells that must agree for the same photo."""


# -- background ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Background:
    """How similar a query is to photos it has nothing to do with, in this library.

    ``level``: the mean of the query's BACKGROUND_TOP best similarities to the random sample (where
    its look-alikes start); ``center`` and ``spread``: the bulk of unrelated photos, estimated from
    the sample's 10th and 30th percentiles as a normal distribution would have them (robust even when
    most of a library is one kind of picture, as long as a third of it is something else).
    """

    level: float
    center: float
    spread: float

    @classmethod
    def of(cls, query: np.ndarray, sample: np.ndarray) -> "Background":
        if len(sample) == 0:
            return cls(level=1.0, center=0.0, spread=1.0)
        sims = sample @ (query / (np.linalg.norm(query) or 1.0))
        top = np.sort(sims)[-min(BACKGROUND_TOP, len(sims)):]
        p10, p30 = np.percentile(sims, [10, 30])
        spread = max(float(p30 - p10) / 0.7576, 1e-3)  # z(0.30) - z(0.10) of a standard normal
        return cls(level=float(top.mean()), center=float(p30 + 0.5244 * spread), spread=spread)

    def margin(self, score: float) -> float:
        """``score`` above the query's background level (negative: below its usual look-alikes)."""
        return float(score) - self.level

    def z(self, score: float) -> float:
        """``score`` in standard deviations above the bulk of unrelated photos."""
        return (float(score) - self.center) / self.spread


def sample_vectors(ids: np.ndarray, load: Callable[[np.ndarray], np.ndarray], size: int = BACKGROUND_SAMPLE,
                   seed: int = 0) -> np.ndarray:
    """A fixed random sample of a library's vectors (the same photos for every query, so results are
    repeatable); ``load`` maps chosen ids to their unit vectors."""
    ids = np.asarray(ids)
    if len(ids) > size:
        ids = np.sort(np.random.default_rng(seed).choice(ids, size=size, replace=False))
    if len(ids) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = np.asarray(load(ids), dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


# -- geometric verification ---------------------------------------------------------------------------
class Features:
    """ORB keypoints of one picture (and of its mirror image), plus the grey picture they came from.

    The mirror image's keypoints are computed on first use: only the query side of a check is ever
    tried mirrored, so a search's candidates (and the duplicate finder's neighbours) skip that second
    ORB pass, a third of each candidate's cost. The answers are the same.
    """

    __slots__ = ("_mirror", "_orb", "descriptors", "grey", "points")

    def __init__(self, grey: np.ndarray, points: np.ndarray, descriptors: np.ndarray | None,
                 orb: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]) -> None:
        self.grey = grey
        self.points = points
        self.descriptors = descriptors
        self._orb = orb
        self._mirror: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None

    def _mirrored(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        # Two threads may compute it at once; both get the same answer and one assignment wins.
        if self._mirror is None:
            grey = np.ascontiguousarray(self.grey[:, ::-1])
            points, descriptors = self._orb(grey)
            self._mirror = (grey, points, descriptors)
        return self._mirror

    @property
    def mirrored_grey(self) -> np.ndarray:
        return self._mirrored()[0]

    @property
    def mirrored_points(self) -> np.ndarray:
        return self._mirrored()[1]

    @property
    def mirrored_descriptors(self) -> np.ndarray | None:
        return self._mirrored()[2]


@dataclass(frozen=True)
class Verification:
    """What the geometric check found. ``informative``: there was enough texture to judge at all."""

    same: bool
    informative: bool
    tight_inliers: int = 0
    cells: int = 0
    agreeing: float = 0.0
    mirrored: bool = False

    @property
    def reason(self) -> str:
        if not self.informative:
            return "too little texture to verify"
        return (f"{self.tight_inliers} matching points, {self.agreeing:.0%} of {self.cells} regions aligned"
                + (" (mirrored)" if self.mirrored else ""))


ImageSource = str | os.PathLike | Image.Image


class GeometricVerifier:
    """ORB + RANSAC homography + cell-by-cell alignment between two pictures; thread-safe.

    Features of recently used pictures are cached by path (the duplicate finder compares one photo
    with several neighbours; a search verifies the query against several candidates).
    """

    def __init__(self, cache_size: int = 64) -> None:
        self._cache: OrderedDict[str, Features] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def _cv2(self) -> Any:
        """OpenCV, imported on the first check: a search whose candidates are all clearly not copies
        never needs it (about 0.1-0.2 s of a command-line search's start)."""
        import cv2

        return cv2

    # -- features -----------------------------------------------------------------------------------
    def features(self, source: ImageSource, image: Image.Image | None = None) -> Features:
        """Keypoints of a picture given as a path (decoded small, EXIF-upright) or a decoded image.

        ``image``: the path's picture already decoded by the caller (as ``decode(path, VERIFY_SIDE)``
        gives it), so the duplicate finder's per-photo measures and this check share one decode.
        """
        if isinstance(source, Image.Image):
            return self._compute(source)
        key = os.fspath(source)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        from .images import decode

        feats = self._compute(image if image is not None else decode(key, VERIFY_SIDE))
        with self._lock:
            self._cache[key] = feats
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return feats

    def _compute(self, image: Image.Image) -> Features:
        cv2 = self._cv2
        im = image if image.mode == "L" else image.convert("L")
        if max(im.size) > VERIFY_SIDE:
            im = im.copy()
            im.thumbnail((VERIFY_SIDE, VERIFY_SIDE), Image.Resampling.BILINEAR)
        grey = np.ascontiguousarray(np.asarray(im, dtype=np.uint8))

        def orb(g: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            keypoints, descriptors = cv2.ORB_create(nfeatures=ORB_FEATURES).detectAndCompute(g, None)
            points = np.float32([k.pt for k in keypoints]) if keypoints else np.zeros((0, 2), np.float32)
            return points, descriptors

        points, descriptors = orb(grey)
        return Features(grey, points, descriptors, orb)

    # -- the check --------------------------------------------------------------------------------------
    def verify(self, query: ImageSource | Features, candidate: ImageSource | Features) -> Verification:
        """Is ``candidate`` the same picture as ``query`` (possibly cropped, rotated, mirrored, re-framed
        by a screenshot or photographed at an angle), or only a similar one?"""
        q = query if isinstance(query, Features) else self.features(query)
        c = candidate if isinstance(candidate, Features) else self.features(candidate)
        best: tuple[int, np.ndarray, bool] | None = None
        for mirrored in (False, True):
            points = q.mirrored_points if mirrored else q.points
            descriptors = q.mirrored_descriptors if mirrored else q.descriptors
            found = self._homography(points, descriptors, c.points, c.descriptors)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], found[1], mirrored)
        if best is None or best[0] < MIN_TIGHT_INLIERS:
            return Verification(False, False, best[0] if best else 0)
        tight, homography, mirrored = best
        cells, agreeing = self._cell_agreement(q.mirrored_grey if mirrored else q.grey, c.grey, homography)
        if cells < MIN_CELLS:
            return Verification(False, False, tight, cells, agreeing, mirrored)
        return Verification(agreeing >= MIN_AGREEMENT, True, tight, cells, agreeing, mirrored)

    def _homography(self, pa: np.ndarray, da: np.ndarray | None, pb: np.ndarray,
                    db: np.ndarray | None) -> tuple[int, np.ndarray] | None:
        cv2 = self._cv2
        if da is None or db is None or len(da) < 8 or len(db) < 8:
            return None
        pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(da, db, k=2)
        good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < RATIO_TEST * m[1].distance]
        if len(good) < 8:
            return None
        a = pa[[m.queryIdx for m in good]]
        b = pb[[m.trainIdx for m in good]]
        homography, _ = cv2.findHomography(a, b, cv2.USAC_MAGSAC, RANSAC_PIXELS, maxIters=2000, confidence=0.999)
        if homography is None or not np.all(np.isfinite(homography)):
            return None
        projected = cv2.perspectiveTransform(a[None], homography)[0]
        tight = int((np.linalg.norm(projected - b, axis=1) < TIGHT_PIXELS).sum())
        return tight, homography

    def _cell_agreement(self, query_grey: np.ndarray, cand_grey: np.ndarray, homography: np.ndarray) -> tuple[int, float]:
        """(informative cells, share of them whose grey levels agree at zero shift) after warping the
        query onto the candidate."""
        cv2 = self._cv2
        h, w = cand_grey.shape
        s = CELL_SIDE / max(h, w)
        wc, hc = max(GRID, round(w * s)), max(GRID, round(h * s))
        scaled = np.diag([wc / w, hc / h, 1.0]) @ homography
        cand = cv2.resize(cand_grey, (wc, hc), interpolation=cv2.INTER_AREA).astype(np.float32)
        warped = cv2.warpPerspective(query_grey, scaled, (wc, hc), flags=cv2.INTER_AREA).astype(np.float32)
        inside = cv2.warpPerspective(np.full(query_grey.shape, 255, np.uint8), scaled, (wc, hc),
                                     flags=cv2.INTER_NEAREST) > 0
        a = cv2.GaussianBlur(warped, (0, 0), 1.0)
        b = cv2.GaussianBlur(cand, (0, 0), 1.0)
        r = CELL_SHIFT
        padded = cv2.copyMakeBorder(a, r, r, r, r, cv2.BORDER_REPLICATE)
        informative = agree = 0
        for i in range(GRID):
            y0, y1 = i * hc // GRID, (i + 1) * hc // GRID
            for j in range(GRID):
                x0, x1 = j * wc // GRID, (j + 1) * wc // GRID
                if y1 - y0 < 4 or x1 - x0 < 4 or inside[y0:y1, x0:x1].mean() < 0.95:
                    continue
                ref = b[y0:y1, x0:x1]
                if ref.std() < CELL_MIN_STD or a[y0:y1, x0:x1].std() < CELL_MIN_STD:
                    continue
                informative += 1
                # normalised cross-correlation of the cell at every shift up to r pixels; centre = zero shift
                nccs = cv2.matchTemplate(padded[y0 : y1 + 2 * r, x0 : x1 + 2 * r], ref, cv2.TM_CCOEFF_NORMED)
                zero = float(nccs[r, r])
                if zero >= CELL_NCC and zero >= float(nccs.max()) - CELL_SHIFT_TOLERANCE:
                    agree += 1
        return informative, (agree / informative if informative else 0.0)


# -- the decision ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """One pair's verdict with its evidence (shown as a tooltip, logged, used by the duplicate finder)."""

    match: Match
    score: float
    margin: float
    verification: Verification | None = None

    @property
    def same(self) -> bool:
        return self.match == SAME

    @property
    def reason(self) -> str:
        if self.verification is not None and self.verification.informative:
            return self.verification.reason
        if self.same:
            return f"near-identical (cosine {self.score:.3f})"
        if self.verification is None and self.margin < VERIFY_MARGIN:
            return "not close enough to be a copy"
        return "no evidence of a copy"


class SamePhotoTest:
    """The calibrated "same photo" decision, for one library (its background sample).

    ``sample`` is a random sample of the library's unit vectors (:func:`sample_vectors`); pass an
    empty array for a library too small to have one (then every candidate above the cosine gate is
    verified).
    """

    def __init__(self, sample: np.ndarray, verifier: GeometricVerifier | None = None) -> None:
        self.sample = np.asarray(sample, dtype=np.float32)
        self._verifier = verifier

    @property
    def verifier(self) -> GeometricVerifier:
        if self._verifier is None:
            self._verifier = GeometricVerifier()
        return self._verifier

    def background(self, vector: np.ndarray) -> Background:
        return Background.of(np.asarray(vector, dtype=np.float32), self.sample)

    def decide(self, score: float, background: Background, query_image: ImageSource | Features | None,
               candidate_image: ImageSource | None) -> Decision:
        """The verdict on one (query, candidate) pair given their cosine ``score``; the images (paths or
        decoded pictures) are needed only for a close call and only read then."""
        margin = background.margin(score) if len(self.sample) else 0.0
        if margin < VERIFY_MARGIN:
            return Decision(SIMILAR, score, margin)
        verification = None
        if query_image is not None and candidate_image is not None:
            try:
                verification = self.verifier.verify(query_image, candidate_image)
            except Exception as exc:  # an unreadable candidate file must not sink the whole query
                log.info("verification skipped: %s", exc)
        if verification is not None and verification.informative:
            return Decision(SAME if verification.same else SIMILAR, score, margin, verification)
        return Decision(SAME if score >= SAME_COSINE_UNVERIFIED else SIMILAR, score, margin, verification)

    def is_same(self, vector_a: np.ndarray, vector_b: np.ndarray, image_a: ImageSource | None = None,
                image_b: ImageSource | None = None) -> Decision:
        """Pairwise: are two photos (their vectors, and their files or decoded pictures for the check)
        the same photo? For the duplicate finder's "same photo" tier. The background is ``a``'s."""
        a = np.asarray(vector_a, dtype=np.float32)
        b = np.asarray(vector_b, dtype=np.float32)
        score = float(a @ b / ((np.linalg.norm(a) * np.linalg.norm(b)) or 1.0))
        return self.decide(score, self.background(a), image_a, image_b)

    def classify(self, vector: np.ndarray, scores: Sequence[float], images: Sequence[ImageSource | None],
                 query_image: ImageSource | None, *, max_verify: int = 8,
                 background: Background | None = None) -> list[Decision]:
        """Per query: a verdict for each candidate (best first). At most ``max_verify`` candidates are
        verified geometrically (each costs a small decode and an ORB pass, 20-40 ms here); the rest
        are "same" only if near-identical.

        Nothing is decoded and OpenCV is not even imported unless a candidate is close enough to be
        a copy (:data:`VERIFY_MARGIN`). Then the keypoints of the query and of the candidates to be
        verified are computed side by side on a few threads, and the checks run side by side too
        (decoding, ORB and RANSAC release the GIL): most of what a search from the command line
        waits for when it finds copies. The verdicts are those of checking one candidate after the
        other (:meth:`decide` on each, in order).
        """
        background = background or self.background(vector)
        query_features: Features | None = None
        gated = [len(self.sample) == 0 or background.margin(s) >= VERIFY_MARGIN for s in scores]
        ahead = [i for i, (g, im) in enumerate(zip(gated, images, strict=True)) if g and im is not None][:max_verify]
        checked: dict[int, Decision] = {}
        if query_image is not None and ahead:
            try:
                found = self.features_side_by_side({"query": query_image}, [images[i] for i in ahead])  # type: ignore[misc]
                query_features = found["query"]
            except Exception as exc:
                log.info("query cannot be verified: %s", exc)
            if query_features is not None:
                checked = self._decide_side_by_side(
                    {i: (scores[i], images[i]) for i in ahead}, background, query_features)  # type: ignore[misc]
        out: list[Decision] = []
        verified = 0
        for i, (score, image) in enumerate(zip(scores, images, strict=True)):
            allowed = verified < max_verify and query_features is not None
            if allowed and i in checked:
                decision = checked[i]
            else:
                decision = self.decide(score, background, query_features if allowed else None,
                                       image if allowed else None)
            if decision.verification is not None:
                verified += 1
            out.append(decision)
        return out

    def _decide_side_by_side(self, pairs: dict[int, tuple[float, ImageSource]], background: Background,
                             query: Features) -> dict[int, Decision]:
        if len(pairs) < 2:
            return {i: self.decide(score, background, query, image) for i, (score, image) in pairs.items()}
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(len(pairs), os.cpu_count() or 2), thread_name_prefix="photosim-verify") as pool:
            futures = {i: pool.submit(self.decide, score, background, query, image) for i, (score, image) in pairs.items()}
            return {i: f.result() for i, f in futures.items()}

    def features_side_by_side(self, queries: dict[str, ImageSource], candidates: Sequence[ImageSource]) -> dict[str, Features]:
        """Keypoints of the ``queries`` (returned by name; one that cannot be read is left out) while
        those of the ``candidates`` (files, kept in the verifier's cache) are computed on other
        threads. A candidate that fails here fails again, and is reported, when it is verified."""
        paths = [c for c in candidates if not isinstance(c, Image.Image)]
        if len(queries) + len(paths) < 2:
            found = {}
            for name, source in queries.items():
                found[name] = self.verifier.features(source)
            for path in paths:
                self._warm(path)
            return found
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(len(queries) + len(paths), os.cpu_count() or 2),
                                thread_name_prefix="photosim-verify") as pool:
            wanted = {name: pool.submit(self.verifier.features, source) for name, source in queries.items()}  # first
            for path in paths:
                pool.submit(self._warm, path)
            found = {}
            for name, future in wanted.items():
                try:
                    found[name] = future.result()
                except Exception as exc:
                    if len(queries) == 1:
                        raise
                    log.info("%s cannot be verified: %s", name, exc)
            return found

    def _warm(self, path: ImageSource) -> None:
        try:
            self.verifier.features(path)
        except Exception:
            pass
