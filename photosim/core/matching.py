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
from dataclasses import dataclass, field, replace
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

VERIFY_MARGIN = -0.10
"""A candidate is verified only when ``score - background >= VERIFY_MARGIN`` (and it is among the first
MAX_VERIFY candidates of results.py). Negative: a hard copy such as a photo of a print, or a corner of
a bare room, may score a little below the query's best look-alikes and still be the same photo. At
-0.08 one corner crop of the benchmark (margin -0.082) was never checked; at -0.10 it is, and
"same" precision is unchanged (bench/same_photo.py, 2026-11-22). The lowest-margin copy there that
the check would confirm sits at -0.138, but seventeenth in its list, past what a query verifies."""

SAME_COSINE_UNVERIFIED = 0.95
"""With no geometric evidence (pictures too flat for keypoints, or no image at hand) a pair is the
same photo only at this cosine or above. The benchmark's highest cosine between two *different*
photos (including different shots of one scene and every edited copy of each) is 0.89."""

SHOT_TOLERANCE = 0.5
"""Seconds: two photos whose capture times are both known and further apart than this are different
shots, however alike their pixels (a burst's frames, a tripod's series, the same view photographed
again a minute later): never "the same photo". The duplicate finder's tiers and a search's "copy"
results follow this one rule, so a photo the search calls a copy is one the Duplicates page groups."""


def other_shot(taken_a: float | None, taken_b: float | None) -> bool:
    """True when both capture times are known and more than :data:`SHOT_TOLERANCE` apart."""
    return taken_a is not None and taken_b is not None and abs(taken_a - taken_b) > SHOT_TOLERANCE


def describe_gap(seconds: float) -> str:
    """A gap between two capture times in words: "2 s", "3 min", "5 h", "4 days"."""
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    days = seconds / 86400
    return f"{days:.0f} day{'' if round(days) == 1 else 's'}"


VERIFY_SIDE = 512
"""Pictures are verified at this long side: enough for 1000 ORB keypoints."""
VERIFY_DECODE_SIDE = VERIFY_SIDE
"""Files are draft-decoded to at least this short side before they are reduced to VERIFY_SIDE (a
12 MP JPEG decodes to it by DCT scaling in about 15 ms)."""
ORB_FEATURES = 1000
RATIO_TEST = 0.8
"""Lowe's ratio test on the two nearest ORB descriptors: keeps distinctive matches only."""
RANSAC_PIXELS = 3.0
TIGHT_PIXELS = 2.0
"""A copy maps onto its original exactly (to keypoint accuracy, a pixel or two at 512 px, more for a
blurred or heavily compressed copy)."""
MIN_TIGHT_INLIERS = 12
"""Fewer matches within TIGHT_PIXELS of the homography than this: the keypoints do not align the
pictures, and their grey levels are tried instead (the dense placement below)."""
SECOND_MOTION_PIXELS = 6.0
"""Matches this far (at VERIFY_SIDE) from where the homography puts them are left unexplained by it."""
SECOND_MOTION_MAX = 12
"""As many unexplained matches agreeing on a motion of their own (within RANSAC_PIXELS of a second
homography): another shot of the scene, not a copy. Calibrated on the benchmark's two pairs of
different shots of one still life (leaves before a wall, a leaf before a wooden wall): their copies
reach 12 and more, while edited copies of the calibration photos stayed at 11 or below (the most on
repetitive grass photographed behind letterbox bars). Not every copy does: on the whole corpus a
square-padded rocket and a stickered room reach 14 and are rejected (the overlays and padding make
matches of their own)."""

DENSE_SIDE = 128
"""Pictures without enough keypoints are placed by their grey levels at this long side."""
DENSE_SCALES = tuple(float(x) for x in np.geomspace(0.45, 1.0, 14))
"""Sizes tried for the smaller picture inside the larger, as a fraction of the largest size that fits
(a crop keeps 45% of the side or more; a letterbox or a screenshot shows the whole picture)."""
DENSE_FINE_SIDE = 256
DENSE_FINE_STEPS = tuple(float(x) for x in np.linspace(-0.05, 0.05, 11))
"""The best coarse placement is then refined at DENSE_FINE_SIDE, at sizes within 5% of it (1% steps)
and positions near it: the coarse grid's 6% steps leave a bare picture (a white room, letterboxed
or in a screenshot) a few pixels off at the edges, too far for its regions to line up at zero shift
(on the duplicate benchmark such pairs went from 26-62% of regions aligned to 75-82%)."""
DENSE_MIN_NCC = 0.7
"""A grey-level placement counts only when it correlates at least this well (at DENSE_SIDE)."""
DENSE_MAX_KEYPOINTS = 100
"""...and is tried only when one of the two pictures has fewer keypoints than this: two pictures
rich in keypoints that do not match are not one photo, and placing them by grey levels costs about
20 ms a pair (a search checks up to 8). On the benchmark's 1064 copies, every pair found the same by
grey levels had a picture with 27 keypoints or fewer (a blurred copy, a smooth clock, a bare room)."""
REFINE_SIDE = 128
"""The alignment is refined by ECC at this long side (about 2 ms here; at 256 px it took 20 ms for
no better agreement)."""
REFINE_ITERATIONS = 30
REFINE_MAX_MOVE = 0.1
"""A refinement that moves a corner by more than this share of REFINE_SIDE has wandered off: the
unrefined alignment is kept."""

CELL_SIDE = 256
"""The alignment check runs on the candidate reduced to this long side, in GRID x GRID cells."""
GRID = 8
CELL_SHIFT = 2
"""A cell is compared at zero shift and at every shift up to this many pixels (at CELL_SIDE)."""
CELL_BLUR = 1.0
CELL_BAND = 6.0
"""Cells are compared band-passed (Gaussians of CELL_BLUR and CELL_BAND pixels): structure counts, a
vignette's or a filter's slow change of brightness across a cell does not."""
CELL_COVERED = 0.95
"""Cells the warped query covers less than this are not compared (the edge of a crop)."""
CELL_MIN_STD = 2.0
"""Cells flatter than this (band-passed grey levels) in either picture carry no evidence and are skipped."""
PLAIN_MIN_TIGHT = 15
PLAIN_MIN_STD = 3.0
"""A pair the band-passed test rejects is tried once more as the previous round's test did it: on
plain (blurred) grey levels, cells flatter than PLAIN_MIN_STD skipped, with the keypoints' unrefined
alignment, for pairs with at least PLAIN_MIN_TIGHT tight matches and no second motion. Band-passing
makes the edges of text and stickers, and a heavy vignette's, count against a copy; the plain test
keeps those copies (bench/same_photo.py: 29 of the 1064 copies were "same" only by it), and the
second-motion check keeps out the other shots of a scene it used to let through."""
CELL_NCC = 0.5
"""A cell agrees when its normalised cross-correlation at zero shift is at least this..."""
CELL_SHIFT_TOLERANCE = 0.1
"""...and no other shift correlates better by more than this (else the content is displaced:
another shot of the scene, not a copy)."""
MIN_CELLS = 6
"""Fewer informative cells than this (a flat picture): no geometric evidence."""
MIN_AGREEMENT = 0.8
"""The share of informative cells that must agree for the same photo."""
ZOOM_SHARE = 0.6
"""A failed check looks again in detail (:meth:`GeometricVerifier._zoomed`) when the alignment puts one
picture inside at most this share of the other's area..."""
ZOOM_MIN_SIDE = 48
"""...and that part is at least this many pixels on each side (at VERIFY_SIDE): a smaller one is a
stray alignment, or too small a picture to check at all."""
ZOOM_INSIDE = 0.9
"""At least this share of the aligned picture's bounding box must lie inside the other (the whole of
it is there in a screenshot or a print; a wild alignment sends it off the edges)."""
ZOOM_MARGIN = 0.03
"""The part decoded again reaches this share of the bigger picture's size beyond the aligned box."""
ZOOM_MAX_SIDE = 2048
"""The bigger picture is decoded again at most at this long side: a part down to a quarter of it
still gets VERIFY_SIDE pixels, and a 12 MP JPEG decodes at half scale (about 35 ms here)."""
CONTAINED = 0.85
"""One picture of a same-photo pair holds (nearly) all of the other: the aligned overlap covers at
least this share of one of them. Two frames that only overlap (two crops of different parts of one
background with a different animal over each, panned shots without a capture time, a page scrolled
between two screenshots) each show what the other does not: not the same photo, however well the
shared part lines up. Crops, borders, screenshots, prints and rotations all pass (a rotated copy's
frame sticks out of the original's, but covers all of it)."""


Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1): a picture's place in another's, as shares of its width and height."""


def box_area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def box_overlap(a: Box, b: Box) -> float:
    """The area two boxes share."""
    return box_area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def contained(placement: Box | None) -> bool:
    """Does one picture hold (nearly) all of the other, given where the query lies in the candidate
    (see :attr:`Verification.placement`)? True when unknown."""
    if placement is None:
        return True
    area, overlap = box_area(placement), box_overlap(placement, (0.0, 0.0, 1.0, 1.0))
    return area > 0 and max(overlap, overlap / area) >= CONTAINED


STRONG_TIGHT = 50
STRONG_MIN_CELLS = 3
"""A bare picture (a corner of a white room) can have too few textured cells for MIN_CELLS and still
many keypoint matches: at least STRONG_TIGHT tight matches under one homography, no second motion,
and every one of at least STRONG_MIN_CELLS textured cells aligned are evidence enough."""


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

    __slots__ = ("_mirror", "_orb", "descriptors", "grey", "points", "source")

    def __init__(self, grey: np.ndarray, points: np.ndarray, descriptors: np.ndarray | None,
                 orb: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]],
                 source: str | Image.Image | None = None) -> None:
        self.grey = grey
        self.points = points
        self.descriptors = descriptors
        self._orb = orb
        #: Where the picture came from (a path, or the decoded image itself), so that a part of it can
        #: be looked at again in more detail (:meth:`GeometricVerifier.verify`'s zoomed check).
        self.source = source
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
    """What the geometric check found. ``informative``: there was enough texture to judge at all.

    The first six fields are what earlier versions recorded; the rest came with the dense alignment,
    the second-motion check and the second look. The duplicate finder stores the first six and
    ``second_motion`` (:func:`photosim.core.duplicates.check_verdict` needs it).
    """

    same: bool
    informative: bool
    tight_inliers: int = 0
    cells: int = 0
    agreeing: float = 0.0
    mirrored: bool = False
    dense: bool = False
    """The alignment came from the pictures' grey levels (too few keypoints), not from keypoints."""
    second_motion: int = 0
    """Keypoint matches that the alignment leaves unexplained but that agree on a motion of their own."""
    correlation: float = 0.0
    """How well the aligned pictures correlate (the dense refinement's score; 0 when not refined)."""
    zoomed: bool = False
    """Found by the second, detailed look at the part of one picture that holds the other (a
    screenshot's photo, a print in a photo): see :meth:`GeometricVerifier._zoomed`."""
    scale: float = 0.0
    """How much bigger the query's picture is in the candidate: the alignment's linear scale from the
    query's grey picture to the candidate's (each the file's picture reduced to VERIFY_SIDE on its
    long side); 0 when there was no alignment. Keep-best turns it into which file holds the photo at
    the higher resolution (a phone screenshot holds it smaller than the original, in more pixels)."""
    overlapping: bool = False
    """The pictures line up where they overlap, but neither holds (nearly) all of the other (see
    CONTAINED): two framings, not the same photo."""
    placement: Box | None = None
    """Where the alignment puts the query's picture in the candidate's: (x0, y0, x1, y1) as shares of the
    candidate's width and height (beyond 0-1 where the query shows more than the candidate); None
    when there was no alignment. The duplicate finder tells a collage from a copy by it: two
    different photos side by side in one picture."""
    detail: np.ndarray | None = field(default=None, compare=False, repr=False)
    """Per-cell evidence (coverage, texture of each picture, correlation at zero shift, best nearby
    correlation), kept only when asked for (the benchmark calibrates the thresholds from it)."""

    @property
    def consistent(self) -> bool:
        """Not confirmed, but nothing against it: the few textured regions there are all aligned, and
        no second motion (a bare room cropped: too little texture to call it the same photo, yet likely
        it). Results list such a candidate as a near copy, ahead of those without any evidence.
        At least STRONG_MIN_CELLS regions: one aligned region of a white wall says nothing (another
        shot of the same bare room led a corner crop's list that way, ahead of its original's three)."""
        return (not self.same and not self.overlapping and self.cells >= STRONG_MIN_CELLS
                and self.agreeing >= MIN_AGREEMENT and self.second_motion < SECOND_MOTION_MAX)

    @property
    def reason(self) -> str:
        if not self.informative:
            if self.consistent:
                share = "all" if self.agreeing >= 1.0 else f"{self.agreeing:.0%} of"
                return f"{share} {self.cells} textured regions aligned, too few to confirm a copy"
            return "too little texture to verify"
        how = "aligned by their grey levels" if self.dense else f"{self.tight_inliers} matching points"
        text = f"{how}, {self.agreeing:.0%} of {self.cells} regions aligned" + (" (mirrored)" if self.mirrored else "")
        if self.zoomed:
            text += ", looked at in detail inside the other picture"
        if self.second_motion >= SECOND_MOTION_MAX:
            text += f"; {self.second_motion} points move differently (another shot of the scene)"
        if self.overlapping:
            text += "; the pictures only overlap (each shows what the other does not)"
        return text


ImageSource = str | os.PathLike | Image.Image


def _scaling(sx: float, sy: float) -> np.ndarray:
    """The homography that resizes a picture by (sx, sy), pixel centres kept in place (OpenCV's resize
    maps pixel centres, not corners: x' = (x + 0.5) sx - 0.5)."""
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def _resized(grey: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """``grey`` reduced to ``side`` on its long side (float32), and the homography from ``grey`` to it."""
    import cv2

    h, w = grey.shape
    s = side / max(h, w)
    wn, hn = max(8, round(w * s)), max(8, round(h * s))
    small = cv2.resize(grey, (wn, hn), interpolation=cv2.INTER_AREA).astype(np.float32)
    return small, _scaling(wn / w, hn / h)


def _aligned_correlation(cv2: Any, query: np.ndarray, cand: np.ndarray, homography: np.ndarray) -> float:
    """Normalised cross-correlation of ``cand`` and ``query`` warped onto it by ``homography`` (query
    pixels to candidate pixels), over the part the warped query covers; -1 when it covers too little."""
    h, w = cand.shape
    warped = cv2.warpPerspective(query.astype(np.float32), homography, (w, h), flags=cv2.INTER_LINEAR)
    covered = cv2.warpPerspective(np.ones(query.shape, np.float32), homography, (w, h), flags=cv2.INTER_NEAREST) > 0.5
    if covered.sum() < 0.1 * h * w:
        return -1.0
    a = warped[covered] - warped[covered].mean()
    b = cand[covered].astype(np.float32) - cand[covered].mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else -1.0


def _inner_box(cv2: Any, inner_shape: tuple[int, ...], outer_shape: tuple[int, ...],
               warp: np.ndarray) -> tuple[float, float, float, float] | None:
    """Where ``warp`` puts a picture of ``inner_shape`` inside one of ``outer_shape`` (grey pixels):
    (x0, y0, x1, y1) when that is a small enough, whole enough part of it to look at again in detail
    (ZOOM_SHARE, ZOOM_MIN_SIDE, ZOOM_INSIDE), else None."""
    ih, iw = inner_shape[:2]
    oh, ow = outer_shape[:2]
    corners = np.float32([[0, 0], [iw, 0], [iw, ih], [0, ih]])[None]
    try:
        placed = cv2.perspectiveTransform(corners, warp)[0]
    except cv2.error:
        return None
    if not np.all(np.isfinite(placed)):
        return None
    (x0, y0), (x1, y1) = placed.min(axis=0), placed.max(axis=0)
    full = (x1 - x0) * (y1 - y0)
    cx0, cy0, cx1, cy1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(ow)), min(y1, float(oh))
    if cx1 - cx0 < ZOOM_MIN_SIDE or cy1 - cy0 < ZOOM_MIN_SIDE:
        return None
    clipped = (cx1 - cx0) * (cy1 - cy0)
    if clipped < ZOOM_INSIDE * full or clipped > ZOOM_SHARE * ow * oh:
        return None
    return float(cx0), float(cy0), float(cx1), float(cy1)


def _crop_source(source: str | Image.Image, grey_shape: tuple[int, ...],
                 box: tuple[float, float, float, float]) -> tuple[Image.Image, tuple[float, float, float, float]]:
    """The part ``box`` (in the pixels of the picture's grey version, ``grey_shape``) of a picture,
    decoded again from its source so that the part's long side is about VERIFY_SIDE (or as much as the
    file has), plus ZOOM_MARGIN around it; and that box with its margin, in the grey version's pixels."""
    gh, gw = grey_shape[:2]
    x0, y0, x1, y1 = box
    mx, my = ZOOM_MARGIN * gw, ZOOM_MARGIN * gh
    x0, y0, x1, y1 = max(0.0, x0 - mx), max(0.0, y0 - my), min(float(gw), x1 + mx), min(float(gh), y1 + my)
    if isinstance(source, Image.Image):
        image = source
    else:
        from .images import decode

        share = max((x1 - x0) / gw, (y1 - y0) / gh)
        image = decode(source, 0, min_long_side=min(ZOOM_MAX_SIDE, int(np.ceil(VERIFY_SIDE / max(share, 1e-3)))))
    sx, sy = image.width / gw, image.height / gh
    part = (int(x0 * sx), int(y0 * sy), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy)))
    if part[2] - part[0] < 8 or part[3] - part[1] < 8:
        raise ValueError("the part to look at again is too small")
    return image.crop(part), (part[0] / sx, part[1] / sy, part[2] / sx, part[3] / sy)


def full_size_scale(scale: float, query_long_side: int, candidate_long_side: int) -> float:
    """A check's :attr:`Verification.scale` (grey picture to grey picture) in the files' own pixels:
    how many of the candidate's pixels one of the query's spans, given both pictures' long sides at
    full size. :meth:`GeometricVerifier.features` reduces a picture to VERIFY_SIDE on its long side,
    and leaves a smaller one as it is."""
    to_query_grey = min(VERIFY_SIDE, query_long_side) / query_long_side
    to_candidate_grey = min(VERIFY_SIDE, candidate_long_side) / candidate_long_side
    return scale * to_query_grey / to_candidate_grey


def _placement(homography: np.ndarray, query_shape: tuple[int, ...],
               candidate_shape: tuple[int, ...]) -> Box | None:
    """The box that ``homography`` (query grey pixels -> candidate grey pixels) puts the query's
    picture in, as shares of the candidate's width and height (see :attr:`Verification.placement`)."""
    qh, qw = query_shape[:2]
    ch, cw = candidate_shape[:2]
    corners = np.array([[0, 0, 1], [qw, 0, 1], [qw, qh, 1], [0, qh, 1]], dtype=np.float64)
    mapped = corners @ np.asarray(homography, dtype=np.float64).T
    if not np.all(np.isfinite(mapped)) or np.any(np.abs(mapped[:, 2]) < 1e-9) or cw <= 0 or ch <= 0:
        return None
    xy = mapped[:, :2] / mapped[:, 2:]
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    box = (x0 / cw, y0 / ch, x1 / cw, y1 / ch)
    return tuple(round(float(v), 4) for v in box) if np.all(np.isfinite(box)) else None  # type: ignore[return-value]


def _area_scale(homography: np.ndarray, shape: tuple[int, ...]) -> float:
    """The linear scale by which ``homography`` maps a picture of ``shape`` (rows, columns) at its
    centre: the square root of the Jacobian's determinant there (det H / w^3 for a homography; a
    mirror does not change it). At the centre, not over the whole picture: a photo of a print taken
    at an angle maps the far corners of the frame to nonsense. 0 when degenerate."""
    h, w = shape[:2]
    m = np.asarray(homography, dtype=np.float64)
    depth = m[2, 0] * w / 2 + m[2, 1] * h / 2 + m[2, 2]
    if not np.all(np.isfinite(m)) or abs(depth) < 1e-9:
        return 0.0
    scale = float(np.sqrt(abs(np.linalg.det(m)) / abs(depth) ** 3))
    return scale if np.isfinite(scale) else 0.0


def _band(image: np.ndarray, fine: float, coarse: float) -> np.ndarray:
    """Band-pass (difference of Gaussians): keeps structure, drops slow changes of brightness (a
    vignette, a lamp's fall-off, a faded filter) that would otherwise spoil correlations."""
    import cv2

    return cv2.GaussianBlur(image, (0, 0), fine) - cv2.GaussianBlur(image, (0, 0), coarse)


class GeometricVerifier:
    """Is one picture an edited copy of another? Keypoints (or grey levels) align them, then the aligned
    pictures must agree cell by cell; thread-safe.

    1. **Alignment.** ORB keypoints with a RANSAC homography (the query also tried mirrored). Pictures
       too smooth or too blurred for keypoints (a white room, a soft-focus clock) are placed by their
       grey levels instead: the query is searched at several sizes inside the candidate and the
       candidate inside the query (crops; letterboxes, screenshots, photos of prints), at
       :data:`DENSE_SIDE` pixels, then finely around the best place (:data:`DENSE_FINE_SIDE`). Either alignment is then refined by ECC on band-passed grey levels
       (:data:`REFINE_SIDE`), which corrects what imprecise keypoints of a blurred or recompressed copy
       leave.
    2. **Cells.** Warped onto the candidate, the query must agree with it cell by cell *at zero shift*
       (:data:`GRID` x :data:`GRID` cells at :data:`CELL_SIDE`): a copy lies on the same pixel grid;
       another shot of the scene has parallax and moved objects, so its cells agree best somewhere
       else, or not at all. Overlays (text, stickers, app chrome) spoil a few cells, not most.
    3. **One motion.** A copy is one picture moved as a whole; a second shot of a scene seen from a
       step aside moves its near and far parts differently. Keypoint matches the alignment does not
       explain, but which agree among themselves on another motion (:data:`SECOND_MOTION_MAX`), mark
       another shot even where the cells of a flat wall agree.
    4. **A second look.** When the check fails and the alignment puts one picture inside a small part
       of the other (a screenshot, a photo of a print, a small crop), that part is decoded again from
       its file and checked on its own (:meth:`_zoomed`): reduced as a whole, it had too few pixels.

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
        gives it), so a caller that needs the picture anyway (the duplicate finder's per-photo
        measures) and this check share one decode.
        """
        if isinstance(source, Image.Image):
            return self._compute(source, source)
        key = os.fspath(source)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        from .images import decode

        feats = self._compute(image if image is not None else decode(key, VERIFY_DECODE_SIDE), key)
        with self._lock:
            self._cache[key] = feats
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return feats

    def _compute(self, image: Image.Image, source: str | Image.Image | None = None) -> Features:
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
        return Features(grey, points, descriptors, orb, source)

    # -- the check --------------------------------------------------------------------------------------
    def verify(self, query: ImageSource | Features, candidate: ImageSource | Features, *,
               detail: bool = False, zoom: bool = True, whole: bool = True) -> Verification:
        """Is ``candidate`` the same picture as ``query`` (possibly cropped, rotated, mirrored, re-framed
        by a screenshot or photographed at an angle), or only a similar one? ``detail`` keeps the
        per-cell evidence in the answer (for calibration). ``zoom``: when the check fails and one
        picture lies in a small part of the other, look again at that part in detail (:meth:`_zoomed`).
        ``whole`` False: ``query`` is a region cut out of a picture (a search's variants), which may cut
        through the photo it holds; the pictures then need not contain one another (CONTAINED)."""
        q = query if isinstance(query, Features) else self.features(query)
        c = candidate if isinstance(candidate, Features) else self.features(candidate)
        result, homography = self._verify(q, c, detail)
        if zoom and not result.same and homography is not None:
            zoomed = self._zoomed(q, c, homography, result.mirrored, detail)
            if zoomed is not None:
                result = zoomed
        if whole and result.same and not contained(result.placement):
            result = replace(result, same=False, overlapping=True)
        return result

    def _verify(self, q: Features, c: Features, detail: bool) -> tuple[Verification, np.ndarray | None]:
        """The check of :meth:`verify` without the zoomed second look: (verification, the homography
        from the (possibly mirrored) query's grey picture to the candidate's, or None)."""
        best: tuple[int, np.ndarray, bool, int] | None = None
        for mirrored in (False, True):
            points = q.mirrored_points if mirrored else q.points
            descriptors = q.mirrored_descriptors if mirrored else q.descriptors
            found = self._homography(points, descriptors, c.points, c.descriptors)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], found[1], mirrored, found[2])
        tight = best[0] if best is not None else 0
        dense = best is None or tight < MIN_TIGHT_INLIERS
        if not dense:
            assert best is not None
            _, homography, mirrored, second = best
        else:
            second = 0
            if min(len(q.points), len(c.points)) >= DENSE_MAX_KEYPOINTS:
                return Verification(False, False, tight), None  # plenty of keypoints, and they do not match
            placed = self._place(q, c)
            if placed is None or placed[0] < DENSE_MIN_NCC:
                return Verification(False, False, tight), None
            _, homography, mirrored = placed
        query_grey = q.mirrored_grey if mirrored else q.grey
        aligned = homography
        homography, correlation = self._refine(query_grey, c.grey, homography)
        table = self._cell_table(query_grey, c.grey, homography)
        cells, agreeing = cell_agreement(table)
        informative = cells >= MIN_CELLS
        same = informative and agreeing >= MIN_AGREEMENT and second < SECOND_MOTION_MAX
        if (not informative and not dense and tight >= STRONG_TIGHT and cells >= STRONG_MIN_CELLS
                and agreeing >= 1.0 and second < SECOND_MOTION_MAX):
            same = informative = True  # few textured regions, but many keypoints agree (see STRONG_TIGHT)
        if not same and not dense and tight >= PLAIN_MIN_TIGHT and second < SECOND_MOTION_MAX:
            # the plain-grey test on the keypoints' own alignment (see PLAIN_MIN_TIGHT)
            plain_cells, plain_agreeing = cell_agreement(self._cell_table(query_grey, c.grey, aligned, band=False),
                                                         min_std=PLAIN_MIN_STD)
            if plain_cells >= MIN_CELLS and plain_agreeing >= MIN_AGREEMENT:
                same, informative, cells, agreeing = True, True, plain_cells, plain_agreeing
        return Verification(same, informative, tight, cells, agreeing, mirrored, dense, second, correlation,
                            scale=_area_scale(homography, query_grey.shape),
                            placement=_placement(homography, query_grey.shape, c.grey.shape),
                            detail=table if detail else None), homography

    def _zoomed(self, q: Features, c: Features, homography: np.ndarray, mirrored: bool,
                detail: bool) -> Verification | None:
        """A second look, in detail, when one picture lies inside a small part of the other.

        A screenshot shows the photo in a third of the screen; a photo of a print shows it in half of
        the frame. Reduced to VERIFY_SIDE as a whole, the part that holds the photo has too few pixels
        left for its regions to line up with the original's (on the duplicate benchmark, screenshots
        failed with 45-77% of regions aligned). So where the alignment puts one picture inside at most
        ZOOM_SHARE of the other, that part of the bigger one is decoded again from its file, at about
        VERIFY_SIDE, and checked against the smaller one; the same thresholds decide. Returns the
        second look's verification if it finds the same photo, else None."""
        from .images import ImageLoadError

        cv2 = self._cv2
        qw = q.grey.shape[1]
        query_to_candidate = homography if not mirrored else homography @ np.array(
            [[-1.0, 0.0, qw - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # the unmirrored query -> candidate
        try:
            candidate_to_query = np.linalg.inv(query_to_candidate)
        except np.linalg.LinAlgError:
            return None
        for outer, inner, warp, outer_is_candidate in ((c, q, query_to_candidate, True),
                                                       (q, c, candidate_to_query, False)):
            box = _inner_box(cv2, inner.grey.shape, outer.grey.shape, warp)
            if box is None or outer.source is None:
                continue
            try:
                crop, used = _crop_source(outer.source, outer.grey.shape, box)
            except (ImageLoadError, OSError, ValueError) as exc:  # the file changed or vanished meanwhile
                log.debug("zoomed check skipped: %s", exc)
                continue
            part = self._compute(crop)
            second, _ = self._verify(q, part, detail) if outer_is_candidate else self._verify(part, c, detail)
            if second.same:
                # the part's grey pixels in the outer picture's: its scale is then the pair's own
                per_part_pixel = (used[2] - used[0]) / max(part.grey.shape[1], 1)
                scale = second.scale * per_part_pixel if outer_is_candidate else second.scale / per_part_pixel
                return replace(second, zoomed=True, scale=scale if np.isfinite(scale) else 0.0,
                               placement=self._zoomed_placement(second, q, c, used, outer_is_candidate))
        return None

    @staticmethod
    def _zoomed_placement(second: Verification, q: Features, c: Features,
                          used: tuple[float, float, float, float],
                          outer_is_candidate: bool) -> Box | None:
        """The second look's placement (made against ``part``, the box ``used`` of the outer picture's
        grey pixels) as the query's place in the whole candidate."""
        box = second.placement
        if box is None:
            return None
        (ux0, uy0, ux1, uy1), ch, cw = used, c.grey.shape[0], c.grey.shape[1]
        if outer_is_candidate:  # the query's box in the part -> in the candidate's grey pixels
            x0, x1 = (ux0 + box[0] * (ux1 - ux0)) / cw, (ux0 + box[2] * (ux1 - ux0)) / cw
            y0, y1 = (uy0 + box[1] * (uy1 - uy0)) / ch, (uy0 + box[3] * (uy1 - uy0)) / ch
            return (round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4))
        # the part of the query lies at ``box`` in the candidate; stretch it to the whole query
        qh, qw = q.grey.shape[:2]
        sx, sy = (box[2] - box[0]) / max(ux1 - ux0, 1e-9), (box[3] - box[1]) / max(uy1 - uy0, 1e-9)
        x0, y0 = box[0] - ux0 * sx, box[1] - uy0 * sy
        return (round(x0, 4), round(y0, 4), round(x0 + qw * sx, 4), round(y0 + qh * sy, 4))

    def _homography(self, pa: np.ndarray, da: np.ndarray | None, pb: np.ndarray,
                    db: np.ndarray | None) -> tuple[int, np.ndarray, int] | None:
        """(tight inliers, homography, second-motion matches) of the keypoint matches, or None."""
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
        errors = np.linalg.norm(cv2.perspectiveTransform(a[None], homography)[0] - b, axis=1)
        tight = int((errors < TIGHT_PIXELS).sum())
        # Matches the homography leaves far off: in a copy, chance mismatches that agree on nothing;
        # in another shot of the scene, the parts at another depth, which move together.
        away = errors >= SECOND_MOTION_PIXELS
        second = 0
        if away.sum() >= 8:
            other, _ = cv2.findHomography(a[away], b[away], cv2.USAC_MAGSAC, RANSAC_PIXELS, maxIters=1000,
                                          confidence=0.99)
            if other is not None and np.all(np.isfinite(other)):
                err2 = np.linalg.norm(cv2.perspectiveTransform(a[away][None], other)[0] - b[away], axis=1)
                second = int((err2 < RANSAC_PIXELS).sum())
        return tight, homography, second

    def _place(self, q: Features, c: Features) -> tuple[float, np.ndarray, bool] | None:
        """Where the query lies in the candidate, from grey levels alone: (correlation, homography,
        mirrored) of the best placement, or None. The query is tried at sizes from DENSE_SCALES
        inside the candidate (a crop of it) and the candidate inside the query (a letterbox, a
        screenshot, a photo of a print), plain and mirrored."""
        cv2 = self._cv2

        def small(grey: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
            picture, to_picture = _resized(grey, side)
            return cv2.GaussianBlur(picture, (0, 0), 1.0), to_picture

        cand, to_cand = small(c.grey, DENSE_SIDE)
        best: tuple[float, np.ndarray, bool, bool] | None = None  # score, inner -> outer (full size), ...
        for mirrored in (False, True):
            grey = q.mirrored_grey if mirrored else q.grey
            query, to_query = small(grey, DENSE_SIDE)
            for inner, outer, inside_candidate in ((query, cand, True), (cand, query, False)):
                found = self._best_placement(inner, outer)
                if found is None:
                    continue
                score, placement = found  # inner (small) -> outer (small)
                to_inner, to_outer = (to_query, to_cand) if inside_candidate else (to_cand, to_query)
                if best is None or score > best[0]:
                    best = (score, np.linalg.inv(to_outer) @ placement @ to_inner, mirrored, inside_candidate)
        if best is None:
            return None
        score, placement, mirrored, inside_candidate = best
        grey = q.mirrored_grey if mirrored else q.grey
        inner_grey, outer_grey = (grey, c.grey) if inside_candidate else (c.grey, grey)
        fine = self._fine_placement(*small(inner_grey, DENSE_FINE_SIDE), *small(outer_grey, DENSE_FINE_SIDE), placement)
        if fine is not None:  # its correlation, at a finer scale, is not comparable with DENSE_MIN_NCC
            placement = fine[1]
        h = placement if inside_candidate else np.linalg.inv(placement)  # query -> candidate
        return score, h, mirrored

    def _fine_placement(self, inner: np.ndarray, to_inner: np.ndarray, outer: np.ndarray, to_outer: np.ndarray,
                        placement: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The coarse ``placement`` (inner -> outer, full-size pixels) refined on the pictures reduced to
        DENSE_FINE_SIDE (see DENSE_FINE_STEPS): (correlation, placement) of the best, or None."""
        coarse = to_outer @ placement @ np.linalg.inv(to_inner)  # inner (fine) -> outer (fine)
        scale, x0, y0 = float(coarse[0, 0]), float(coarse[0, 2]), float(coarse[1, 2])
        ih, iw = inner.shape
        oh, ow = outer.shape
        best: tuple[float, np.ndarray] | None = None
        for step in DENSE_FINE_STEPS:
            s = scale * (1.0 + step)
            tw, th = round(iw * s), round(ih * s)
            # around the coarse position: the size change moves the top left corner by up to
            # |step| of the picture, the coarse grid's pixel by 1 / DENSE_SIDE of the outer side
            reach = int(abs(step) * max(tw, th)) + 2 * (DENSE_FINE_SIDE // DENSE_SIDE) + 2
            left = min(max(0, round(x0) - reach), ow - tw)
            top = min(max(0, round(y0) - reach), oh - th)
            window = (left, top, min(ow, left + tw + 2 * reach), min(oh, top + th + 2 * reach))
            found = self._match_sized(inner, outer, tw, th, window)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], np.linalg.inv(to_outer) @ found[1] @ to_inner)
        return best

    def _best_placement(self, inner: np.ndarray, outer: np.ndarray) -> tuple[float, np.ndarray] | None:
        oh, ow = outer.shape
        ih, iw = inner.shape
        best: tuple[float, np.ndarray] | None = None
        for fraction in DENSE_SCALES:
            s = fraction * min(ow / iw, oh / ih)
            found = self._match_sized(inner, outer, round(iw * s), round(ih * s))
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        return best

    def _match_sized(self, inner: np.ndarray, outer: np.ndarray, tw: int, th: int,
                     window: tuple[int, int, int, int] | None = None) -> tuple[float, np.ndarray] | None:
        """``inner`` resized to ``tw`` x ``th`` and searched in ``outer`` (or in its ``window``: left, top,
        right, bottom): (correlation, inner -> outer placement) of the best position, or None when that
        size does not fit or the resized picture is too flat to place."""
        cv2 = self._cv2
        oh, ow = outer.shape
        ih, iw = inner.shape
        if tw < 16 or th < 16 or tw > ow or th > oh:
            return None
        template = cv2.resize(inner, (tw, th), interpolation=cv2.INTER_AREA)
        if float(template.std()) < CELL_MIN_STD:
            return None
        left, top, right, bottom = window if window is not None else (0, 0, ow, oh)
        scores = cv2.matchTemplate(outer[top:bottom, left:right], template, cv2.TM_CCOEFF_NORMED)
        _, found, _, (x, y) = cv2.minMaxLoc(scores)
        moved = np.array([[1.0, 0.0, left + x], [0.0, 1.0, top + y], [0.0, 0.0, 1.0]])
        return float(found), moved @ _scaling(tw / iw, th / ih)

    def _refine(self, query_grey: np.ndarray, cand_grey: np.ndarray, homography: np.ndarray) -> tuple[np.ndarray, float]:
        """The homography refined by ECC on band-passed grey levels at REFINE_SIDE, and the correlation it
        reached; the unrefined one (correlation 0) when ECC fails or wanders off."""
        cv2 = self._cv2
        query, to_query = _resized(query_grey, REFINE_SIDE)
        cand, to_cand = _resized(cand_grey, REFINE_SIDE)
        query = _band(query, 0.7, REFINE_SIDE / 16)
        cand = _band(cand, 0.7, REFINE_SIDE / 16)
        small = to_cand @ homography @ np.linalg.inv(to_query)  # query (small) -> candidate (small)
        try:
            warp = np.linalg.inv(small)  # ECC maps the template's (candidate's) pixels into the input's
            if not abs(warp[2, 2]) > 1e-9:  # a degenerate alignment: nothing to refine
                return homography, 0.0
            warp = (warp / warp[2, 2]).astype(np.float32)
            criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, REFINE_ITERATIONS, 1e-4)
            correlation, warp = cv2.findTransformECC(cand, query, warp, cv2.MOTION_HOMOGRAPHY, criteria, None, 1)
            refined = np.linalg.inv(warp.astype(np.float64))
        except (cv2.error, np.linalg.LinAlgError):
            return homography, 0.0
        h, w = cand.shape
        corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])[None]
        moved = np.abs(cv2.perspectiveTransform(corners, np.linalg.inv(small)) -
                       cv2.perspectiveTransform(corners, np.linalg.inv(refined))).max()
        if not np.isfinite(moved) or moved > REFINE_MAX_MOVE * REFINE_SIDE:
            return homography, 0.0
        # ECC climbs to a local optimum of its own criterion, which is not always a better alignment:
        # on a sky of small stars it drifted 5% off an exact keypoint alignment (797 matches) and the
        # regions no longer lined up. A refinement is kept only if it correlates better.
        before = _aligned_correlation(cv2, query, cand, small)
        after = _aligned_correlation(cv2, query, cand, refined)
        if after < before:
            return homography, before
        return np.linalg.inv(to_cand) @ refined @ to_query, float(correlation)

    def _cell_table(self, query_grey: np.ndarray, cand_grey: np.ndarray, homography: np.ndarray, *,
                    band: bool = True) -> np.ndarray:
        """Per cell of the candidate at CELL_SIDE: (share covered by the warped query, texture of the
        candidate, texture of the query, correlation at zero shift, best correlation within CELL_SHIFT).
        ``band=False``: plain grey levels (blurred by CELL_BLUR) instead of band-passed ones."""
        cv2 = self._cv2
        cand, to_cand = _resized(cand_grey, CELL_SIDE)
        hc, wc = cand.shape
        warp = to_cand @ homography
        warped = cv2.warpPerspective(query_grey.astype(np.float32), warp, (wc, hc), flags=cv2.INTER_LINEAR)
        inside = cv2.warpPerspective(np.full(query_grey.shape, 255, np.uint8), warp, (wc, hc),
                                     flags=cv2.INTER_NEAREST) > 0
        if band:
            a, b = _band(warped, CELL_BLUR, CELL_BAND), _band(cand, CELL_BLUR, CELL_BAND)
        else:
            a, b = cv2.GaussianBlur(warped, (0, 0), CELL_BLUR), cv2.GaussianBlur(cand, (0, 0), CELL_BLUR)
        r = CELL_SHIFT
        padded = cv2.copyMakeBorder(a, r, r, r, r, cv2.BORDER_REPLICATE)
        table = np.zeros((GRID * GRID, 5), dtype=np.float32)
        for i in range(GRID):
            y0, y1 = i * hc // GRID, (i + 1) * hc // GRID
            for j in range(GRID):
                x0, x1 = j * wc // GRID, (j + 1) * wc // GRID
                row = table[i * GRID + j]
                if y1 - y0 < 4 or x1 - x0 < 4:
                    continue
                row[0] = inside[y0:y1, x0:x1].mean()
                ref = b[y0:y1, x0:x1]
                row[1], row[2] = ref.std(), a[y0:y1, x0:x1].std()
                if row[0] < CELL_COVERED or min(row[1], row[2]) < CELL_MIN_STD:
                    continue
                # normalised cross-correlation of the cell at every shift up to r pixels; centre = zero shift
                nccs = cv2.matchTemplate(padded[y0 : y1 + 2 * r, x0 : x1 + 2 * r], ref, cv2.TM_CCOEFF_NORMED)
                row[3], row[4] = nccs[r, r], nccs.max()
        return table


def cell_agreement(table: np.ndarray, *, ncc: float | None = None, tolerance: float | None = None,
                   min_std: float | None = None) -> tuple[int, float]:
    """(informative cells, share of them that agree at zero shift) from a cell table. The keyword
    arguments override the calibrated constants (the benchmark sweeps them)."""
    ncc = CELL_NCC if ncc is None else ncc
    tolerance = CELL_SHIFT_TOLERANCE if tolerance is None else tolerance
    min_std = CELL_MIN_STD if min_std is None else min_std
    use = (table[:, 0] >= CELL_COVERED) & (table[:, 1] >= min_std) & (table[:, 2] >= min_std)
    n = int(use.sum())
    if not n:
        return 0, 0.0
    rows = table[use]
    agree = (rows[:, 3] >= ncc) & (rows[:, 3] >= rows[:, 4] - tolerance)
    return n, float(agree.mean())


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
    def consistent(self) -> bool:
        """The check found nothing against the pair but too little texture to confirm it
        (:attr:`Verification.consistent`)."""
        return self.verification is not None and self.verification.consistent

    @property
    def reason(self) -> str:
        if self.verification is not None and (self.verification.informative or self.verification.consistent):
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
               candidate_image: ImageSource | None, whole: bool = True) -> Decision:
        """The verdict on one (query, candidate) pair given their cosine ``score``; the images (paths or
        decoded pictures) are needed only for a close call and only read then. ``whole`` False: the
        query is a region cut out of a picture (see :meth:`GeometricVerifier.verify`)."""
        margin = background.margin(score) if len(self.sample) else 0.0
        if margin < VERIFY_MARGIN:
            return Decision(SIMILAR, score, margin)
        verification = None
        if query_image is not None and candidate_image is not None:
            try:
                verification = self.verifier.verify(query_image, candidate_image, whole=whole)
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
        decisions = self.decide_many([(score, background, query, image) for score, image in pairs.values()])
        return dict(zip(pairs, decisions, strict=True))

    def decide_many(self, pairs: Sequence[tuple[float, Background, ImageSource | Features | None, ImageSource | None]
                                          | tuple[float, Background, ImageSource | Features | None, ImageSource | None, bool]],
                    ) -> list[Decision]:
        """:meth:`decide` on each (score, background, query, candidate[, whole]), side by side on a few
        threads (the checks release the GIL), in the given order. The query's variants in a search are
        checked this way: one after the other they were a seventh of a search's wall clock."""
        if len(pairs) < 2:
            return [self.decide(*pair) for pair in pairs]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(len(pairs), os.cpu_count() or 2), thread_name_prefix="photosim-verify") as pool:
            futures = [pool.submit(self.decide, *pair) for pair in pairs]
            return [f.result() for f in futures]

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
