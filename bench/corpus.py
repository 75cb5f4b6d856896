"""Benchmark corpora made from real photos that ship offline.

Two corpora, both cached on disk (generating 12 MP files takes a while and must not be timed):

* the **camera corpus**: realistic camera files, 4000x3000 JPEG q90 with EXIF (make, model, capture
  time), a quarter of them stored sideways with an EXIF orientation tag, plus a few HEIC and PNG files.
  Each file is a different crop of a sample photo, upscaled, with a little sensor-like grain so that it
  compresses (and decodes) like a real photo, not like a smooth upscale, and so that no two files share
  a fingerprint (the indexer would otherwise reuse embeddings of duplicates and look faster than it is).
* the **edited-copy corpus**: every sample photo as an original, and nineteen edited copies of each:
  the eleven edits of the first version (crop, corner crop, mirror, rotation, EXIF-rotated, greyscale,
  colour shift, watermark text, letterbox borders, blur, low-quality JPEG) and eight that sharing,
  printing, posting and re-saving do to photos (turned 90 degrees without an EXIF tag, a phone
  screenshot with its bars, a messenger's small recompressed copy, a photo of a print or a screen,
  a square post with blurred padding, stickers, an app filter, a heavy vignette). Retrieval quality
  is whether each copy finds its original.
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
#: The edited-copy corpus has its own version: v3 added eight edits (the first eleven are unchanged,
#: byte for byte: each edit's random generator is seeded by its position, and new edits come last).
EDITED_VERSION = 3
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


def _rotated_90(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Turned a quarter either way and saved without an orientation tag (what many editors and
    messengers do when they drop EXIF): the pixels themselves are sideways."""
    return im.transpose(Image.Transpose.ROTATE_90 if rng.integers(2) else Image.Transpose.ROTATE_270), {}


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, int(size)))


def _screenshot(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A phone screenshot of the photo in a viewer app: a 1080x2340 portrait screen scaled down,
    status bar (time, battery), a title bar, the photo fitted to the width, an action bar; PNG-like
    sharp UI, then saved as JPEG by the messenger that carried it."""
    dark = bool(rng.integers(2))
    bg, fg = ((18, 18, 18), (235, 235, 235)) if dark else ((250, 250, 250), (30, 30, 30))
    sw, sh = 540, 1170
    screen = Image.new("RGB", (sw, sh), bg)
    draw = ImageDraw.Draw(screen)
    draw.text((28, 14), f"{int(rng.integers(7, 23))}:{int(rng.integers(0, 60)):02d}", font=_font(26), fill=fg)
    draw.rectangle((sw - 70, 20, sw - 30, 38), outline=fg, width=2)  # battery
    draw.rectangle((sw - 66, 24, sw - 66 + int(rng.integers(8, 32)), 34), fill=fg)
    for i in range(3):  # signal bars
        draw.rectangle((sw - 120 + i * 10, 36 - 6 * (i + 1), sw - 114 + i * 10, 38), fill=fg)
    draw.text((20, 70), "<  Photos", font=_font(30), fill=fg)
    draw.text((sw - 150, 72), "Edit   ...", font=_font(26), fill=fg)
    fitted = ImageOps.contain(im, (sw, sh - 320))
    top = 130 + (sh - 320 - fitted.height) // 2
    screen.paste(fitted, ((sw - fitted.width) // 2, top))
    y = sh - 130
    for i, x in enumerate(range(50, sw, sw // 4)):  # share, heart, info, trash
        if i % 2:
            draw.ellipse((x, y, x + 40, y + 40), outline=fg, width=3)
        else:
            draw.rectangle((x, y, x + 36, y + 40), outline=fg, width=3)
    draw.rounded_rectangle((sw // 2 - 70, sh - 24, sw // 2 + 70, sh - 16), radius=4, fill=fg)  # home bar
    return screen, {"quality": 85}


def _messenger(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A messenger's data-saving copy: long side 480 px, JPEG quality 35 with 4:2:0 chroma."""
    small = ImageOps.contain(im, (480, 480), Image.Resampling.BILINEAR)
    return small, {"quality": 35, "subsampling": 2}


def _photo_of_print(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A phone photo of the picture shown on a screen or a print lying on a table: seen at an angle
    (a perspective warp), on a darker surround, a little out of focus, with uneven light and noise."""
    w, h = im.size
    out_w, out_h = int(w * 1.25), int(h * 1.25)
    j = lambda a: float(rng.uniform(0.02, 0.12)) * a  # noqa: E731 - corner jitter
    # where the picture's corners land in the output (clockwise from top left)
    quad = [(out_w * 0.1 + j(w), out_h * 0.1 + j(h)), (out_w * 0.9 - j(w), out_h * 0.1 + j(h)),
            (out_w * 0.9 - j(w), out_h * 0.9 - j(h)), (out_w * 0.1 + j(w), out_h * 0.9 - j(h))]
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    coeffs = _perspective_coeffs(quad, src)
    surround = tuple(int(v) for v in rng.integers(30, 110, size=3))
    canvas = Image.new("RGB", (out_w, out_h), surround)
    warped = im.transform((out_w, out_h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    mask = Image.new("L", im.size, 255).transform((out_w, out_h), Image.Transform.PERSPECTIVE, coeffs,
                                                  Image.Resampling.BILINEAR)
    canvas.paste(warped, (0, 0), mask)
    canvas = canvas.filter(ImageFilter.GaussianBlur(radius=max(1.0, min(out_w, out_h) / 400)))
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    light = 0.8 + 0.35 * (xx / out_w) * (1 - 0.5 * yy / out_h)  # brighter towards one side (a lamp, a window)
    arr = np.asarray(canvas, dtype=np.float32) * light[..., None]
    arr += rng.normal(0, 4.0, size=arr.shape[:2])[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), {"quality": 88}


def _perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    """Pillow's PERSPECTIVE coefficients mapping output points ``dst`` back to input points ``src``."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return np.linalg.solve(np.asarray(rows, dtype=np.float64), np.asarray(rhs, dtype=np.float64)).tolist()


def _square_padded(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A square post that keeps the whole picture: fitted into a square whose empty sides are filled
    with a blurred, enlarged copy of the picture (what posting apps offer instead of cropping)."""
    side = max(im.size)
    fill = ImageOps.fit(im, (side, side)).filter(ImageFilter.GaussianBlur(radius=side / 30))
    fill = ImageEnhance.Brightness(fill).enhance(0.8)
    fill.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
    return fill.resize((1080, 1080), Image.Resampling.BICUBIC) if side > 1080 else fill, {}


def _stickers(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Three opaque stickers (smiley faces and a heart), each about a sixth of the short side, placed
    at random, covering roughly 8% of the picture."""
    out = im.copy()
    draw = ImageDraw.Draw(out)
    w, h = im.size
    r = min(w, h) // 12
    for i in range(3):
        cx, cy = int(rng.uniform(r, w - r)), int(rng.uniform(r, h - r))
        if i == 2:  # a heart: two circles and a triangle
            red = (230, 30, 60)
            draw.ellipse((cx - r, cy - r // 2 - r // 2, cx, cy + r // 2 - r // 2), fill=red)
            draw.ellipse((cx, cy - r // 2 - r // 2, cx + r, cy + r // 2 - r // 2), fill=red)
            draw.polygon([(cx - r, cy - r // 4), (cx + r, cy - r // 4), (cx, cy + r)], fill=red)
            continue
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 205, 40), outline=(120, 80, 0), width=max(1, r // 15))
        e = r // 4
        draw.ellipse((cx - 2 * e, cy - 2 * e, cx - e, cy - e // 2), fill=(40, 30, 20))
        draw.ellipse((cx + e, cy - 2 * e, cx + 2 * e, cy - e // 2), fill=(40, 30, 20))
        draw.arc((cx - 2 * e, cy - e, cx + 2 * e, cy + 2 * e), 20, 160, fill=(40, 30, 20), width=max(1, r // 10))
    return out, {}


def _app_filter(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """An Instagram-like look: lifted blacks (faded), an S contrast curve, teal shadows and warm
    highlights, a little less saturation."""
    x = np.asarray(im, dtype=np.float32) / 255.0
    x = 0.5 + (x - 0.5) * 1.25  # contrast
    x = 1 / (1 + np.exp(-6 * (x - 0.5)))  # S curve
    x = (x - x.min()) / max(1e-6, float(x.max() - x.min()))
    x = 0.12 + 0.83 * x  # fade: blacks lifted, whites dimmed
    lum = x.mean(axis=2, keepdims=True)
    tint = np.where(lum < 0.5, np.array([-0.05, 0.02, 0.05]), np.array([0.06, 0.02, -0.05])) * (np.abs(lum - 0.5) * 2)
    x = np.clip(x + tint, 0, 1)
    out = Image.fromarray((x * 255).astype(np.uint8))
    return ImageEnhance.Color(out).enhance(0.8), {}


def _vignette(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A heavy vignette: brightness falls from full in the middle to about 15% in the corners."""
    w, h = im.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / math.sqrt(2)  # 0 centre, 1 corner
    gain = 1.0 - 0.85 * np.clip((d - 0.25) / 0.75, 0, 1) ** 1.5
    arr = np.asarray(im, dtype=np.float32) * gain[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), {}


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
    # v3: what sharing, printing, posting and re-saving do
    "rotated 90, no EXIF": _rotated_90,
    "screenshot": _screenshot,
    "messenger copy": _messenger,
    "photo of a print": _photo_of_print,
    "square, padded": _square_padded,
    "stickers": _stickers,
    "app filter": _app_filter,
    "heavy vignette": _vignette,
}


@dataclass
class QualityCorpus:
    folder: Path
    originals: list[tuple[str, Path]]
    queries: list[tuple[str, str, Path]]  # (edit, original name, path)


def quality_corpus(cache: Path, seed: int = 11) -> QualityCorpus:
    """Originals (JPEG q95, native size) and one edited copy of each per edit, cached in ``cache``."""
    folder = cache / f"edited-v{EDITED_VERSION}"
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
