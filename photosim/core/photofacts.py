"""What the duplicate finder knows about one picture beyond its vector: format, pixels, compression,
sharpness, camera data, texture.

Why a module of its own: the keep-best rules ("original format over a derived one, more pixels, less
compression, sharper, with capture date and camera data") and the compare view need these per photo,
and the indexer's forward pass should not pay for them on every photo of a library when only the
few in duplicate groups need them. So they are measured from the file when a photo first takes part
in a group, in one small decode (a 12 MP JPEG is DCT-scaled to about 1000 px: ~15 ms here), and
cached in the catalog by content fingerprint (:data:`FACTS_VERSION` invalidates old measures).

Everything a person compares is measured on the picture scaled to the same long side
(:data:`PROBE_SIDE`), so a half-size copy is not "sharper" for being smaller; pixels are compared
by the rule that is about pixels.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

FACTS_VERSION = 1

PROBE_SIDE = 512
"""Sharpness and texture are measured with the picture scaled to this long side (the same scale the
"same photo" verifier works at, so one decode serves both)."""

FLAT_KEYPOINTS = 40
"""Fewer ORB keypoints than this at PROBE_SIDE: a flat picture (a single colour, a gradient, a blank
wall or page). Real photos give hundreds (1000 is the cap); the benchmark's flat pictures give 0-20.
Flat pictures never join a "similar shots" group and are "the same photo" only when their colour
layout agrees too (perceptual-hash tools group every white picture with every other)."""

RAW_EXTENSIONS = frozenset({".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2",
                            ".raf", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".rwl"})
CAMERA_FORMATS = frozenset({"JPEG", "MPO", "TIFF"})
PHONE_FORMATS = frozenset({"HEIF", "HEIC", "AVIF"})

#: libjpeg's standard luminance table (quality 50), natural order: the reference for estimating a
#: JPEG's quality from the table in its header (no decode needed).
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)


@dataclass(frozen=True)
class ContentFacts:
    """Measures of one content (the same for every exact copy of it), cached by fingerprint."""

    format: str
    """Pillow's format name ("JPEG", "HEIF", "PNG"...), or the extension for a file Pillow cannot open (RAW)."""
    width: int
    height: int
    content_width: int
    content_height: int
    """The picture without uniform bars (letterbox, mat): what "more pixels" compares."""
    quality: int | None
    """Estimated JPEG quality (1-100) from the quantisation table; 100 for lossless formats; None unknown."""
    sharpness: float | None
    """Variance of the Laplacian of the grey picture at PROBE_SIDE (higher: more fine detail)."""
    keypoints: int
    """ORB keypoints at PROBE_SIDE: how much texture the picture has."""
    camera: str | None
    software: str | None
    taken_at: float | None
    colour: tuple[float, ...]
    """A 4x4 RGB thumbnail of the content (48 values, 0-255): the colour layout, for flat pictures."""
    raw: bool = False

    @property
    def flat(self) -> bool:
        return self.keypoints < FLAT_KEYPOINTS

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    @property
    def content_megapixels(self) -> float:
        return self.content_width * self.content_height / 1e6

    @property
    def origin(self) -> int:
        """How close to what a camera wrote: 4 RAW, 3 HEIC/HEIF, 2 a JPEG or TIFF with camera data,
        1 a JPEG or TIFF without (an export, an edit, a download), 0 anything else (PNG screenshots,
        WebP and GIF downloads)."""
        if self.raw:
            return 4
        if self.format in PHONE_FORMATS:
            return 3
        if self.format in CAMERA_FORMATS:
            return 2 if self.camera else 1
        return 1 if self.camera else 0

    @property
    def origin_label(self) -> str:
        return {4: "RAW", 3: self.format, 2: f"camera {self.format}", 1: f"{self.format} without camera data",
                0: self.format}[self.origin]

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ContentFacts:
        data = json.loads(text)
        data["colour"] = tuple(data.get("colour") or ())
        return cls(**data)


def unreadable_facts(path: str, width: int | None = None, height: int | None = None) -> ContentFacts:
    """What can be said about a file that cannot be decoded here (a RAW without a decoder)."""
    ext = os.path.splitext(path)[1].lower()
    w, h = int(width or 0), int(height or 0)
    return ContentFacts(format=ext.lstrip(".").upper() or "?", width=w, height=h, content_width=w, content_height=h,
                        quality=None, sharpness=None, keypoints=0, camera=None, software=None, taken_at=None,
                        colour=(), raw=ext in RAW_EXTENSIONS)


def jpeg_quality(tables: dict[int, list[int]] | None) -> int | None:
    """The libjpeg quality whose scaled standard table is closest to this file's luminance table."""
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return None
    table = np.asarray(tables[0], dtype=np.float64)
    best, best_err = None, np.inf
    for q in range(1, 101):
        scale = 5000 / q if q < 50 else 200 - 2 * q
        ref = np.clip(np.floor((_STD_LUMA * scale + 50) / 100), 1, 255)
        err = float(np.abs(ref - table).sum())
        if err < best_err:
            best, best_err = q, err
    return best


def measure(path: str, verifier: object | None = None) -> ContentFacts:
    """Measure one file (raises :class:`~photosim.core.images.ImageLoadError` when it cannot be read).

    ``verifier``: a :class:`~photosim.core.matching.GeometricVerifier`; its ORB features of this file
    are computed from the same decode and left in its cache, so verifying the file's pairs right
    after costs no second decode.
    """
    from .images import ImageLoadError, _safe_exif, decode, taken_at_from_exif

    ext = os.path.splitext(path)[1].lower()
    if ext in RAW_EXTENSIONS:
        return _raw_facts(path, verifier)
    try:
        with Image.open(path) as im:
            fmt = im.format or ext.lstrip(".").upper()
            quality = jpeg_quality(getattr(im, "quantization", None)) if fmt in ("JPEG", "MPO") else None
            if fmt in ("PNG", "TIFF", "BMP") and quality is None:
                quality = 100  # lossless (a TIFF may hold JPEG data; rare for photos people keep)
            exif = _safe_exif(im)
    except Exception as exc:
        raise ImageLoadError(f"cannot read {path}: {exc}") from None
    camera = None
    software = None
    if exif:
        make, model = (str(exif.get(t) or "").strip("\x00 ") for t in (0x010F, 0x0110))
        camera = (model if make and model.lower().startswith(make.lower()) else f"{make} {model}").strip() or None
        software = str(exif.get(0x0131) or "").strip("\x00 ") or None
    picture = decode(path, PROBE_SIDE)
    full = _upright_size(path, picture.size)
    return _measure(path, picture, full, verifier, format=fmt, quality=quality, camera=camera, software=software,
                    taken_at=taken_at_from_exif(exif), raw=False)


def _raw_facts(path: str, verifier: object | None) -> ContentFacts:
    """A camera RAW file, measured through the picture photosim reads from it (its embedded preview,
    else its sensor data): Pillow cannot open RAW files, but keep-best needs their size and sharpness
    to weigh a RAW against its JPEG."""
    from .images import ImageLoadError, decode_photo

    try:
        photo = decode_photo(path, PROBE_SIDE)
    except ImageLoadError:
        return unreadable_facts(path)
    return _measure(path, photo.image, (photo.width, photo.height), verifier,
                    format=os.path.splitext(path)[1].lstrip(".").upper(), quality=None, camera=None, software=None,
                    taken_at=photo.taken_at, raw=True)


def _measure(path: str, picture: Image.Image, full: tuple[int, int], verifier: object | None, *, format: str,
             quality: int | None, camera: str | None, software: str | None, taken_at: float | None,
             raw: bool) -> ContentFacts:
    """Content size, sharpness, colour and keypoints of a decoded picture (``full``: the file's upright size)."""
    from .embedder import content_box

    width, height = picture.size
    left, top, right, bottom = content_box(picture)
    sx, sy = full[0] / max(1, width), full[1] / max(1, height)
    content = (max(1, round((right - left) * sx)), max(1, round((bottom - top) * sy)))
    probe = picture.crop((left, top, right, bottom)) if (right - left, bottom - top) != picture.size else picture
    if max(probe.size) > PROBE_SIDE:
        probe = probe.copy()
        probe.thumbnail((PROBE_SIDE, PROBE_SIDE), Image.Resampling.BILINEAR)
    sharpness = _laplacian_variance(np.asarray(probe.convert("L"), dtype=np.float32))
    colour = tuple(float(v) for v in np.asarray(probe.resize((4, 4), Image.Resampling.BOX), dtype=np.float32).ravel())
    keypoints = 0
    if verifier is not None:
        features = verifier.features(path, image=picture)  # type: ignore[attr-defined]
        keypoints = int(len(features.points))
    else:
        import cv2

        grey = np.asarray(picture.convert("L") if max(picture.size) <= PROBE_SIDE else
                          _thumb(picture).convert("L"), dtype=np.uint8)
        keypoints = len(cv2.ORB_create(nfeatures=1000).detect(grey, None) or ())
    return ContentFacts(format=format, width=full[0], height=full[1], content_width=content[0],
                        content_height=content[1], quality=quality, sharpness=round(sharpness, 2), keypoints=keypoints,
                        camera=camera, software=software, taken_at=taken_at,
                        colour=tuple(round(c, 1) for c in colour), raw=raw)


def _thumb(picture: Image.Image) -> Image.Image:
    im = picture.copy()
    im.thumbnail((PROBE_SIDE, PROBE_SIDE), Image.Resampling.BILINEAR)
    return im


def _upright_size(path: str, decoded: tuple[int, int]) -> tuple[int, int]:
    """The full upright size of a file (its header, turned by its EXIF orientation), else the decode's."""
    from .images import _safe_exif

    try:
        with Image.open(path) as im:
            w, h = im.size
            exif = _safe_exif(im)
    except Exception:
        return decoded
    if exif and exif.get(0x0112, 1) in (5, 6, 7, 8):
        w, h = h, w
    return w, h


def _laplacian_variance(grey: np.ndarray) -> float:
    """Variance of a 4-neighbour Laplacian: the usual cheap focus measure."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = (grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1])
    return float(lap.var())


def colour_distance(a: ContentFacts, b: ContentFacts) -> float:
    """Mean absolute difference of the two 4x4 colour layouts (0-255): near 0 for the same flat picture
    saved twice, tens for a white and a grey wall."""
    if len(a.colour) != len(b.colour) or not a.colour:
        return 255.0
    return float(np.abs(np.asarray(a.colour) - np.asarray(b.colour)).mean())
