"""The duplicate finder's benchmark library, made from real photos that ship offline.

One folder tree, cached on disk, with the ground truth beside it (``truth.json``):

* ``originals/``: the 56 photos of the edited-copy corpus, re-saved as camera files (JPEG q95 with
  EXIF make, model and capture time). Capture times fall through one day a few seconds to a few
  tens of seconds apart, so time alone never tells a burst from unrelated photos taken just before
  or after it.
* ``copies/``: the 19 edited copies of each (``bench/corpus.py``: crops, mirror, rotations,
  greyscale, colour shift, overlays, borders, blur, re-compression, screenshot, messenger copy,
  photo of a print, square post, stickers, app filter, vignette); no EXIF (edits and shares drop
  it), except the EXIF-rotated copies, stored sideways with an orientation tag and their original's
  capture time, as a camera writes them.
* ``backup/``: byte-identical copies of 24 files under other names (the exact tier's truth).
* ``bursts/``: bursts made from 12 real photos: 3 or 4 more frames each, a second apart, each frame
  the scene a moment later (the subject moved by 3-5% of the picture, camera shake, another
  exposure, fresh noise: :func:`burst_frame`); plus scikit-image's real stereo pair (the
  motorcycle's right view beside its left, which is an original). They are similar shots, *not*
  the same photo.
* ``flat/``: 14 unrelated flat pictures (single colours, gradients, a white wall with noise, a blank
  page): none may be grouped with anything.

Two natural series are labelled by eye among the interior photos (one still life shot twice with
the camera moved; a table with a plant shot three times); photos of the same session whose framing
differs are "either way" pairs for the similar tier (neither counted right nor wrong).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .corpus import quality_corpus

DUP_VERSION = 2

#: Interior photos that are natural series (the same scene shot again a moment later).
SERIES = (
    ("interior-pexels-7303773", "interior-pexels-cup-of-couple-7303788"),
    ("interior-pexels-7303992", "interior-pexels-7303994", "interior-pexels-7303995"),
)
#: One photo session with different framings: whether these are "similar shots" is a matter of taste.
SESSION = (
    "interior-pexels-7303782", "interior-pexels-7303800", "interior-pexels-7303842",
    "interior-pexels-cup-of-couple-7303987", "interior-pexels-cup-of-couple-6963787", "interior-pexels-6963783",
    "interior-pexels-6963788", "interior-pexels-cup-of-couple-6962851", "interior-pexels-6956495",
)
BURST_SOURCES = (
    "astronaut", "chelsea", "coffee", "rocket", "china", "flower", "camera", "clock", "coins",
    "interior-pexels-2416933", "interior-pexels-36358763", "interior-pexels-5386834",
)
FLAT_COLOURS = ((255, 255, 255), (0, 0, 0), (200, 30, 30), (30, 60, 200), (128, 128, 128), (135, 190, 235),
                (250, 240, 200), (20, 110, 40))


@dataclass
class DupCorpus:
    folder: Path
    truth: dict

    def family(self, rel: str) -> str:
        return self.truth["family"][rel]


def _exif(when: dt.datetime, model: str = "Bench 12MP", orientation: int = 1) -> bytes:
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    exif[0x010F] = "PhotosimBench"
    exif[0x0110] = model
    stamp = when.strftime("%Y:%m:%d %H:%M:%S")
    exif[0x0132] = stamp
    exif.get_ifd(0x8769)[0x9003] = stamp  # DateTimeOriginal
    return exif.tobytes()


def burst_frame(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Another frame of the same scene a moment later: camera shake (a shift of up to 3%, a zoom of 2-6%,
    a turn of up to a degree), the subject and the foreground moving against the background (a
    smooth displacement of 3-5% of the short side), another exposure, fresh sensor noise.

    With less local motion (1-2%, tried first) a third of the frames are pixel-aligned with their
    original to within what the "same photo" check tolerates: such frames are, to the pixel grid,
    the same photo, and the finder tells them apart by their capture times alone.
    """
    import cv2

    arr = np.asarray(image, dtype=np.float32)
    h, w = arr.shape[:2]
    side = min(w, h)
    amp = side * float(rng.uniform(0.03, 0.05))
    grid = rng.uniform(-1, 1, size=(2, 4, 4)).astype(np.float32) * amp
    dx = cv2.resize(grid[0], (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(grid[1], (w, h), interpolation=cv2.INTER_CUBIC)
    zoom = 1.0 + float(rng.uniform(0.02, 0.06))
    sx, sy = (float(v) for v in rng.uniform(-0.03, 0.03, size=2) * side)
    turn = np.deg2rad(float(rng.uniform(-1.0, 1.0)))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xc, yc = (xx - w / 2) / zoom, (yy - h / 2) / zoom
    map_x = (np.cos(turn) * xc - np.sin(turn) * yc + w / 2 + sx + dx).astype(np.float32)
    map_y = (np.sin(turn) * xc + np.cos(turn) * yc + h / 2 + sy + dy).astype(np.float32)
    out = cv2.remap(arr, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    gain = float(rng.uniform(0.82, 1.18))
    out = 255.0 * np.clip(out / 255.0 * gain, 0, 1) ** float(rng.uniform(0.92, 1.08))
    out += rng.normal(0, 2.5, size=out.shape[:2])[..., None]
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def flat_pictures(rng: np.random.Generator) -> list[tuple[str, Image.Image]]:
    out: list[tuple[str, Image.Image]] = []
    for i, colour in enumerate(FLAT_COLOURS):
        size = ((1600, 1200), (1200, 1600), (800, 800), (2000, 1500))[i % 4]
        out.append((f"colour-{i}", Image.new("RGB", size, colour)))
    yy, xx = np.mgrid[0:900, 0:1200].astype(np.float32)
    sky = np.stack([90 + 60 * yy / 900, 140 + 50 * yy / 900, 230 - 10 * yy / 900], axis=-1)
    out.append(("gradient-sky", Image.fromarray(sky.astype(np.uint8))))
    warm = np.stack([200 + 50 * xx / 1200, 120 + 40 * xx / 1200, 60 + 0 * xx], axis=-1)
    out.append(("gradient-warm", Image.fromarray(warm.astype(np.uint8))))
    grey = np.repeat((40 + 180 * (xx + yy) / 2100)[..., None], 3, axis=-1)
    out.append(("gradient-grey", Image.fromarray(grey.astype(np.uint8))))
    wall = 235 + rng.normal(0, 3, size=(1200, 1600, 1))
    wall = wall + 8 * np.sin(np.arange(1600, dtype=np.float32) / 300.0)[None, :, None]  # uneven light
    out.append(("white-wall", Image.fromarray(np.clip(np.repeat(wall, 3, axis=2), 0, 255).astype(np.uint8))))
    page = np.full((1400, 1000, 3), 246, np.float32) + rng.normal(0, 1.5, size=(1400, 1000, 1))
    page[60:64, 80:920] = 200  # a faint ruled line on an otherwise blank page
    out.append(("blank-page", Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))))
    dusk = np.stack([30 + 20 * yy / 900, 30 + 10 * yy / 900, 60 + 30 * yy / 900], axis=-1)
    dusk = dusk + rng.normal(0, 2, size=(900, 1200, 1))
    out.append(("dark-sky", Image.fromarray(np.clip(dusk, 0, 255).astype(np.uint8))))
    return out


def dup_corpus(cache: Path, seed: int = 23) -> DupCorpus:
    """Create (or reuse) the benchmark library in ``cache``; see the module docstring."""
    folder = cache / f"dups-v{DUP_VERSION}"
    marker = folder / "truth.json"
    if marker.exists():
        return DupCorpus(folder, json.loads(marker.read_text()))
    edited = quality_corpus(cache)
    tmp = folder.with_name(folder.name + ".part")
    if tmp.exists():
        shutil.rmtree(tmp)
    for sub in ("originals", "copies", "backup", "bursts", "flat"):
        (tmp / sub).mkdir(parents=True)
    rng = np.random.default_rng(seed)
    family: dict[str, str] = {}
    taken: dict[str, str] = {}

    # capture times: a shuffled day of shooting; series and the session kept together
    names = [n for n, _ in edited.originals]
    grouped = [list(s) for s in SERIES] + [list(SESSION)]
    loose = [n for n in names if not any(n in g for g in grouped)]
    order: list[list[str]] = [[n] for n in loose] + grouped
    rng.shuffle(order)  # type: ignore[arg-type]
    when = dt.datetime(2024, 6, 1, 9, 0, 0)
    times: dict[str, dt.datetime] = {}
    for block in order:
        for i, name in enumerate(block):
            gap = (3, 10) if len(block) <= 3 and len(block) > 1 and i else ((20, 60) if i else (6, 40))
            when += dt.timedelta(seconds=int(rng.integers(*gap)))
            times[name] = when
        when += dt.timedelta(seconds=int(rng.integers(6, 40)))

    images: dict[str, Image.Image] = {}
    for name, path in edited.originals:
        with Image.open(path) as im:
            image = im.convert("RGB")
        images[name] = image
        rel = f"originals/{name}.jpg"
        image.save(tmp / rel, "JPEG", quality=95, exif=_exif(times[name]))
        family[rel], taken[rel] = name, times[name].isoformat()
    for edit, name, path in edited.queries:
        rel = f"copies/{path.name}"
        if edit == "EXIF-rotated":  # a camera's sideways file keeps the shot's capture time, as phones do
            with Image.open(path) as im:
                orientation = im.getexif().get(0x0112, 1)
                im.save(tmp / rel, "JPEG", quality=90, exif=_exif(times[name], orientation=orientation))
            taken[rel] = times[name].isoformat()
        else:
            shutil.copyfile(path, tmp / rel)
        family[rel] = name

    # bursts: 3 or 4 more frames a second apart
    bursts: list[list[str]] = []
    for b, name in enumerate(BURST_SOURCES):
        frames = [f"originals/{name}.jpg"]
        for i in range(1, 3 + b % 2 + 1):
            rel = f"bursts/{name}-frame{i}.jpg"
            frame = burst_frame(images[name], np.random.default_rng([seed, b, i]))
            frame.save(tmp / rel, "JPEG", quality=92, exif=_exif(times[name] + dt.timedelta(seconds=i)))
            family[rel], taken[rel] = f"{name}/frame{i}", (times[name] + dt.timedelta(seconds=i)).isoformat()
            frames.append(rel)
        bursts.append(frames)
    from skimage.data import stereo_motorcycle

    right = Image.fromarray(stereo_motorcycle()[1]).convert("RGB")
    rel = "bursts/motorcycle-right.jpg"
    right.save(tmp / rel, "JPEG", quality=92, exif=_exif(times["motorcycle"] + dt.timedelta(seconds=1)))
    family[rel], taken[rel] = "motorcycle/right", (times["motorcycle"] + dt.timedelta(seconds=1)).isoformat()
    bursts.append(["originals/motorcycle.jpg", rel])

    # exact copies: every third original and a spread of edited copies, renamed
    sources = [f"originals/{n}.jpg" for n in names[::3]] + sorted(r for r in family if r.startswith("copies/"))[::211]
    exact: list[list[str]] = []
    for i, src in enumerate(sources[:24]):
        rel = f"backup/IMG_{9000 + i}{Path(src).suffix}"
        shutil.copyfile(tmp / src, tmp / rel)
        family[rel] = family[src]
        if src in taken:
            taken[rel] = taken[src]
        exact.append([src, rel])

    for name, image in flat_pictures(rng):
        rel = f"flat/{name}.jpg"
        image.save(tmp / rel, "JPEG", quality=92, exif=_exif(when + dt.timedelta(seconds=len(family) % 50)))
        family[rel] = f"flat/{name}"

    truth = {
        "family": family, "taken": taken, "exact": exact, "bursts": bursts,
        "series": [[f"originals/{n}.jpg" for n in s] for s in SERIES],
        "session": [f"originals/{n}.jpg" for n in SESSION],
        "flat": sorted(r for r in family if r.startswith("flat/")),
    }
    (tmp / "truth.json").write_text(json.dumps(truth, indent=1))
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return DupCorpus(folder, truth)
