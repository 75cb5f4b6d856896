"""The previous round's same-photo verification, kept so the benchmark measures before and after in
one run, on the same vectors and the same machine (like ``recipes.py`` keeps earlier feature recipes).

Before this round (commit a492113, "Same photo vs similar" of issue 11): ORB keypoints, a RANSAC
homography, at least 15 matches within 2 px, then the 8 x 8 cell test on plain (blurred) grey levels
at 256 px: informative cells with a standard deviation of at least 3, agreeing when their correlation
at zero shift is at least 0.5 and within 0.1 of the best shift up to 2 px; the same photo at 80%
agreement of at least 6 cells. No grey-level placement for pictures without keypoints, no refinement,
no second-motion check.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from photosim.core.matching import Features, GeometricVerifier, ImageSource, Verification

MIN_TIGHT_INLIERS = 15
CELL_SIDE = 256
GRID = 8
CELL_SHIFT = 2
CELL_MIN_STD = 3.0
CELL_NCC = 0.5
CELL_SHIFT_TOLERANCE = 0.1
MIN_CELLS = 6
MIN_AGREEMENT = 0.8
DECODE_SIDE = 512


class PreviousVerifier(GeometricVerifier):
    """The previous round's :meth:`verify` over the same keypoints (same ORB settings, same cache)."""

    def features(self, source: ImageSource, image: Image.Image | None = None) -> Features:
        if image is None and not isinstance(source, Image.Image):
            from photosim.core.images import decode

            with self._lock:
                cached = os.fspath(source) in self._cache
            if not cached:
                image = decode(os.fspath(source), DECODE_SIDE)
        return super().features(source, image)

    def verify(self, query: ImageSource | Features, candidate: ImageSource | Features, *,
               detail: bool = False, whole: bool = True) -> Verification:  # the previous round had no ``whole``
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
        cells, agreeing = self._previous_cells(q.mirrored_grey if mirrored else q.grey, c.grey, homography)
        if cells < MIN_CELLS:
            return Verification(False, False, tight, cells, agreeing, mirrored)
        return Verification(agreeing >= MIN_AGREEMENT, True, tight, cells, agreeing, mirrored)

    def _previous_cells(self, query_grey: np.ndarray, cand_grey: np.ndarray, homography: np.ndarray) -> tuple[int, float]:
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
                nccs = cv2.matchTemplate(padded[y0 : y1 + 2 * r, x0 : x1 + 2 * r], ref, cv2.TM_CCOEFF_NORMED)
                zero = float(nccs[r, r])
                if zero >= CELL_NCC and zero >= float(nccs.max()) - CELL_SHIFT_TOLERANCE:
                    agree += 1
        return informative, (agree / informative if informative else 0.0)
