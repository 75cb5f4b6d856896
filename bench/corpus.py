"""Benchmark corpora made from real photos that ship offline.

Two corpora, both cached on disk (generating 12 MP files takes a while and must not be timed):

* the **camera corpus**: realistic camera files, 4000x3000 JPEG q90 with EXIF (make, model, capture
  time), a quarter of them stored sideways with an EXIF orientation tag, plus a few HEIC and PNG files.
  Each file is a different crop of a sample photo, upscaled, with a little sensor-like grain so that it
  compresses (and decodes) like a real photo, not like a smooth upscale, and so that no two files share
  a fingerprint (the indexer would otherwise reuse embeddings of duplicates and look faster than it is).
* the **edited-copy corpus**: every sample photo as an original, and eleven edited copies of each
  (crop, corner crop, mirror, rotation, EXIF-rotated, greyscale, colour shift, watermark text,
  letterbox borders, blur, low-quality JPEG). Retrieval quality is whether each copy finds its original.
* the **phone and camera corpus** (:func:`formats_corpus`): 12 MP HEIC as iPhones write them (512 px
  tiles, a 320x240 thumbnail, a quarter taken upright: stored sideways with the rotation on the
  primary image only), the same without a thumbnail, 24 MP DNG with a full-size JPEG preview (as
  Canon and Nikon embed) and with a 1616 px one (as Sony does), 12 MP AVIF, and phone screenshots
  (PNG, 1170x2532, a real photo inside an app's chrome and text). Writers: :mod:`bench.camera_files`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from . import camera_files

CORPUS_VERSION = 2
CAMERA_SIZE = (4000, 3000)
ORIENTATION = 0x0112


def source_photos() -> list[tuple[str, Image.Image]]:
    """Every real photo available offline, as upright RGB images (name, image).

    skimage's ``cat`` is the same picture as ``chelsea`` and the right half of the stereo pair is a
    near-duplicate of the left, so both are left out: a benchmark must not have two right answers.
    """
    import skimage.data as sk
    from interior_photos import get_all_photos
    from sklearn.datasets import load_sample_images

    photos: list[tuple[str, Image.Image]] = []

    def add(name: str, array: np.ndarray) -> None:
        im = Image.fromarray(np.asarray(array))
        photos.append((name, im.convert("RGB")))

    for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
                 "retina", "camera", "coins", "moon", "clock", "brick", "grass", "gravel"):
        add(name, getattr(sk, name)())
    add("motorcycle", sk.stereo_motorcycle()[0])
    samples = load_sample_images()
    for fname, array in zip(samples.filenames, samples.images, strict=True):
        add(Path(fname).stem, array)
    for path in sorted(get_all_photos()):
        with Image.open(path) as im:
            photos.append((f"interior-{Path(path).stem}", ImageOps.exif_transpose(im).convert("RGB")))
    return photos


def _exif(orientation: int, index: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhotosimBench"  # Make
    exif[0x0110] = "Synthetic 12MP"  # Model
    exif[0x0132] = f"2024:06:{1 + index % 28:02d} 12:{index % 60:02d}:00"  # DateTime
    if orientation != 1:
        exif[ORIENTATION] = orientation
    return exif


def _store_sideways(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores for an upright picture under EXIF ``orientation`` 6 or 8."""
    # exif_transpose applies ROTATE_270 for 6 and ROTATE_90 for 8; store the inverse.
    return upright.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)


def _camera_frame(src: Image.Image, rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A random 4:3 crop of ``src`` upscaled to ``size``, with mild grain."""
    w, h = src.size
    aspect = size[0] / size[1]
    frac = rng.uniform(0.75, 1.0)
    cw = min(w, h * aspect) * frac
    ch = cw / aspect
    x0 = rng.uniform(0, w - cw)
    y0 = rng.uniform(0, h - ch)
    im = src.resize(size, Image.Resampling.BICUBIC, box=(x0, y0, x0 + cw, y0 + ch))
    arr = np.asarray(im, dtype=np.int16)
    grain = rng.normal(0.0, 3.0, size=(size[1], size[0], 1)).astype(np.int16)  # luminance grain
    arr = np.clip(arr + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


@dataclass
class CameraCorpus:
    folder: Path
    jpeg: list[Path] = field(default_factory=list)
    heic: list[Path] = field(default_factory=list)
    png: list[Path] = field(default_factory=list)

    @property
    def all(self) -> list[Path]:
        return self.jpeg + self.heic + self.png

    @property
    def sideways(self) -> int:
        return sum(1 for p in self.jpeg if "-o6" in p.name or "-o8" in p.name)


def camera_corpus(cache: Path, n_jpeg: int, n_heic: int = 0, n_png: int = 0, seed: int = 7) -> CameraCorpus:
    """Create (or reuse) the camera corpus in ``cache``; files are named so a bigger corpus extends a smaller."""
    folder = cache / f"camera-v{CORPUS_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    corpus = CameraCorpus(folder)
    sources: list[tuple[str, Image.Image]] | None = None
    plan = [("jpg", i) for i in range(n_jpeg)] + [("heic", i) for i in range(n_heic)] + [("png", i) for i in range(n_png)]
    for kind, i in plan:
        orientation = (6 if i % 8 == 1 else 8) if (kind == "jpg" and i % 4 == 1) else 1
        name = f"{kind}-{i:05d}" + (f"-o{orientation}" if orientation != 1 else "") + f".{kind}"
        path = folder / name
        getattr(corpus, "jpeg" if kind == "jpg" else kind).append(path)
        if path.exists():
            continue
        if sources is None:
            sources = source_photos()
        rng = np.random.default_rng([seed, i, {"jpg": 0, "heic": 1, "png": 2}[kind]])
        src = sources[(i * 7 + {"jpg": 0, "heic": 3, "png": 5}[kind]) % len(sources)][1]
        frame = _camera_frame(src, rng, CAMERA_SIZE)
        tmp = path.with_suffix(path.suffix + ".part")
        if kind == "jpg":
            stored = _store_sideways(frame, orientation) if orientation != 1 else frame
            stored.save(tmp, "JPEG", quality=90, exif=_exif(orientation, i).tobytes())
        elif kind == "heic":
            import pillow_heif  # its encoder, without registering it: photosim decodes with pi-heif

            pillow_heif.from_pillow(frame).save(tmp, quality=85, exif=_exif(1, i).tobytes())
        else:
            frame.save(tmp, "PNG", compress_level=3)
        os.replace(tmp, path)
    return corpus


# -- phone and camera formats ----------------------------------------------------------------------
FORMATS_VERSION = 2  # 2: filtered HEIC thumbnails, 12-bit packed DNG data
PHONE_SIZE = (4032, 3024)  # 12 MP, 4:3, as iPhones (and most phones) shoot
RAW_SIZE = (6000, 4000)  # 24 MP, 3:2, as most APS-C and full-frame cameras of the last decade
SCREEN_SIZE = (1170, 2532)  # an iPhone 12-14 screenshot


@dataclass
class FormatsCorpus:
    folder: Path
    heic_thumb: list[Path] = field(default_factory=list)
    heic_plain: list[Path] = field(default_factory=list)
    dng_full: list[Path] = field(default_factory=list)
    dng_small: list[Path] = field(default_factory=list)
    avif: list[Path] = field(default_factory=list)
    png: list[Path] = field(default_factory=list)


def _orientation_for(i: int) -> int:
    """A quarter of the photos taken with the device held upright (stored sideways, 6 or 8)."""
    return (6 if i % 8 == 1 else 8) if i % 4 == 1 else 1


def _upright_frame(src: Image.Image, rng: np.random.Generator, size: tuple[int, int], orientation: int) -> Image.Image:
    """The picture as the person saw it: landscape ``size``, or portrait when held upright."""
    portrait = orientation in (5, 6, 7, 8)
    return _camera_frame(src, rng, (size[1], size[0]) if portrait else size)


def phone_screenshot(src: Image.Image, rng: np.random.Generator, index: int) -> Image.Image:
    """A phone screenshot: status bar, an app's title bar, a real photo, a caption and a tab bar.

    Drawn, not captured, but with what makes screenshots what they are for photosim: flat chrome,
    sharp text, a photo in the middle at screen resolution.
    """
    w, h = SCREEN_SIZE
    dark = bool(index % 3 == 2)
    bg, fg, grey = ((0, 0, 0), (255, 255, 255), (40, 40, 44)) if dark else ((255, 255, 255), (0, 0, 0), (242, 242, 247))
    im = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(im)
    status = ImageFont.load_default(size=44)
    title = ImageFont.load_default(size=56)
    body = ImageFont.load_default(size=40)
    draw.text((90, 40), f"{9 + index % 12}:{index * 7 % 60:02d}", font=status, fill=fg)
    draw.rounded_rectangle((w - 180, 48, w - 90, 88), radius=10, outline=fg, width=4)
    draw.rectangle((w - 176, 52, w - 176 + int(82 * (0.2 + 0.8 * rng.random())), 84), fill=fg)
    draw.text((60, 170), ["Photos", "Messages", "Notes", "Gallery"][index % 4], font=title, fill=fg)
    top = 280
    ph = int(w * rng.uniform(0.75, 1.25))
    photo = _camera_frame(src, rng, (w, ph))
    im.paste(photo, (0, top))
    y = top + ph + 40
    draw.rectangle((0, y - 10, w, y + 360), fill=grey)
    words = "shared album holiday dinner with friends look at this view the kids at the beach last summer".split()
    for line in range(5):
        text = " ".join(words[int(k)] for k in rng.integers(0, len(words), size=7))
        draw.text((60, y + 20 + line * 64), text, font=body, fill=fg)
    draw.rectangle((0, h - 220, w, h), fill=grey)
    for k in range(5):
        cx = int((k + 0.5) * w / 5)
        draw.ellipse((cx - 36, h - 180, cx + 36, h - 108), outline=fg, width=5)
    return im


def formats_corpus(cache: Path, *, n_heic: int, n_heic_plain: int, n_dng: int, n_avif: int, n_png: int,
                   seed: int = 13) -> FormatsCorpus:
    """Create (or reuse) the phone and camera corpus; a bigger corpus extends a smaller one.

    ``n_dng`` files of each preview kind. Writing is slow (x265 and a 24 MP mosaic: a few seconds a
    file), which is why it is cached.
    """
    folder = cache / f"formats-v{FORMATS_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    corpus = FormatsCorpus(folder)
    sources: list[tuple[str, Image.Image]] | None = None
    plan = ([("heic_thumb", i) for i in range(n_heic)] + [("heic_plain", i) for i in range(n_heic_plain)]
            + [("dng_full", i) for i in range(n_dng)] + [("dng_small", i) for i in range(n_dng)]
            + [("avif", i) for i in range(n_avif)] + [("png", i) for i in range(n_png)])
    suffix = {"heic_thumb": "heic", "heic_plain": "heic", "dng_full": "dng", "dng_small": "dng", "avif": "avif",
              "png": "png"}
    salt = {"heic_thumb": 11, "heic_plain": 13, "dng_full": 17, "dng_small": 19, "avif": 23, "png": 29}
    for kind, i in plan:
        orientation = _orientation_for(i) if kind != "png" else 1
        name = f"{kind.replace('_', '-')}-{i:04d}" + (f"-o{orientation}" if orientation != 1 else "") + f".{suffix[kind]}"
        path = folder / name
        getattr(corpus, kind).append(path)
        if path.exists():
            continue
        if sources is None:
            sources = source_photos()
        rng = np.random.default_rng([seed, i, salt[kind]])
        src = sources[(i * 5 + salt[kind]) % len(sources)][1]
        taken = dt.datetime(2024, 1 + i % 12, 1 + i % 28, 8 + i % 12, i % 60, 0)
        tmp = path.with_name(path.name + ".part")
        if kind.startswith("heic"):
            frame = _upright_frame(src, rng, PHONE_SIZE, orientation)
            camera_files.write_heic(frame, tmp, thumbnail=320 if kind == "heic_thumb" else None,
                                    orientation=orientation, taken=taken)
        elif kind.startswith("dng"):
            frame = _upright_frame(src, rng, RAW_SIZE, orientation)
            camera_files.write_dng(frame, tmp, preview=0 if kind == "dng_full" else 1616, orientation=orientation,
                                   taken=taken, rng=rng)
        elif kind == "avif":
            frame = _upright_frame(src, rng, PHONE_SIZE, orientation)
            camera_files.write_avif(frame, tmp, orientation=orientation, taken=taken)
        else:
            phone_screenshot(src, rng, i).save(tmp, "PNG")
        os.replace(tmp, path)
    return corpus


# -- edited copies ------------------------------------------------------------------------------
Edit = Callable[[Image.Image, np.random.Generator], tuple[Image.Image, dict]]


def _crop(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A free crop keeping about 60% of the area, somewhere off-centre."""
    w, h = im.size
    f = math.sqrt(0.6)
    cw, ch = int(w * f), int(h * f)
    x0, y0 = int(rng.uniform(0, w - cw)), int(rng.uniform(0, h - ch))
    return im.crop((x0, y0, x0 + cw, y0 + ch)), {}


def _corner_crop(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """One corner, 70% of each side (about half the picture)."""
    w, h = im.size
    cw, ch = int(w * 0.7), int(h * 0.7)
    corner = int(rng.integers(4))
    x0 = 0 if corner in (0, 2) else w - cw
    y0 = 0 if corner in (0, 1) else h - ch
    return im.crop((x0, y0, x0 + cw, y0 + ch)), {}


def _mirror(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    return ImageOps.mirror(im), {}


def _rotation(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A straightening rotation of 7 to 12 degrees, cropped to the largest upright rectangle inside."""
    angle = float(rng.uniform(7, 12)) * (1 if rng.integers(2) else -1)
    w, h = im.size
    rot = im.rotate(angle, Image.Resampling.BICUBIC, expand=False)
    a = math.radians(abs(angle))
    # largest axis-aligned rectangle with the original aspect inside the rotated frame
    scale = 1.0 / (math.cos(a) + max(w / h, h / w) * math.sin(a))
    cw, ch = int(w * scale), int(h * scale)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return rot.crop((x0, y0, x0 + cw, y0 + ch)), {}


def _exif_rotated(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    orientation = 6 if rng.integers(2) else 8
    return _store_sideways(im, orientation), {"exif": _exif(orientation, 0).tobytes()}


def _greyscale(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    return im.convert("L").convert("RGB"), {}


def _colour_shift(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A strong white-balance shift (warm or cool) plus a saturation boost, like a photo filter."""
    gains = (1.18, 1.0, 0.78) if rng.integers(2) else (0.8, 0.97, 1.2)
    arr = np.asarray(im, dtype=np.float32) * np.asarray(gains, dtype=np.float32)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return ImageEnhance.Color(out).enhance(1.4), {}


def _watermark(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Large semi-transparent text across the middle and a solid caption in a corner."""
    w, h = im.size
    base = im.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    big = ImageFont.load_default(size=max(12, h // 8))
    small = ImageFont.load_default(size=max(10, h // 20))
    text = "© PHOTOSIM SAMPLE"
    tw = draw.textlength(text, font=big)
    draw.text(((w - tw) / 2, h * 0.42), text, font=big, fill=(255, 255, 255, 140))
    draw.text((w * 0.03, h * 0.9), "Jane Doe Photography 2024", font=small, fill=(255, 255, 0, 255))
    return Image.alpha_composite(base, layer).convert("RGB"), {}


def _letterbox(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Black bars to a 16:9 (portrait: 9:16) frame with extra margin, as video stills and social posts get."""
    w, h = im.size
    if w >= h:
        nh = max(h, int(w * 9 / 16)) + h // 6
        nw = w + w // 10
    else:
        nw = max(w, int(h * 9 / 16)) + w // 6
        nh = h + h // 10
    canvas = Image.new("RGB", (nw, nh), (0, 0, 0))
    canvas.paste(im, ((nw - w) // 2, (nh - h) // 2))
    return canvas, {}


def _blur(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    return im.filter(ImageFilter.GaussianBlur(radius=max(1.5, min(im.size) / 150))), {}


def _low_jpeg(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Half size and JPEG quality 10: a messenger-app copy."""
    w, h = im.size
    return im.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.BILINEAR), {"quality": 10}


EDITS: dict[str, Edit] = {
    "crop": _crop,
    "corner crop": _corner_crop,
    "mirror": _mirror,
    "rotation": _rotation,
    "EXIF-rotated": _exif_rotated,
    "greyscale": _greyscale,
    "colour shift": _colour_shift,
    "watermark text": _watermark,
    "letterbox borders": _letterbox,
    "blur": _blur,
    "low-quality JPEG": _low_jpeg,
}


@dataclass
class QualityCorpus:
    folder: Path
    originals: list[tuple[str, Path]]
    queries: list[tuple[str, str, Path]]  # (edit, original name, path)


def quality_corpus(cache: Path, seed: int = 11) -> QualityCorpus:
    """Originals (JPEG q95, native size) and one edited copy of each per edit, cached in ``cache``."""
    folder = cache / f"edited-v{CORPUS_VERSION}"
    marker = folder / "corpus.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        return QualityCorpus(folder, [(n, folder / p) for n, p in info["originals"]],
                             [(e, n, folder / p) for e, n, p in info["queries"]])
    (folder / "originals").mkdir(parents=True, exist_ok=True)
    (folder / "copies").mkdir(parents=True, exist_ok=True)
    originals: list[tuple[str, str]] = []
    queries: list[tuple[str, str, str]] = []
    for index, (name, im) in enumerate(source_photos()):
        rel = f"originals/{name}.jpg"
        im.save(folder / rel, "JPEG", quality=95)
        originals.append((name, rel))
        for e, (edit, fn) in enumerate(EDITS.items()):
            rng = np.random.default_rng([seed, index, e])
            out, opts = fn(im, rng)
            opts = {"quality": 90, **opts}
            rel_q = f"copies/{name}--{edit.replace(' ', '_')}.jpg"
            out.save(folder / rel_q, "JPEG", **opts)
            queries.append((edit, name, rel_q))
    marker.write_text(json.dumps({"originals": originals, "queries": queries}))
    return quality_corpus(cache, seed)
