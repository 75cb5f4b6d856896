"""Phone and camera formats: HEIC (with and without the thumbnail phones embed), DNG (with and without
the camera's JPEG preview), AVIF. Real photos written the way devices write them (bench/camera_files.py),
decoded upright with the original's size and time, through the small embedded picture where it serves."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.camera_files import LIBRAW_FLIP, write_avif, write_dng, write_heic
from photosim.core import heif_container, images
from photosim.core.heif_container import Transform, choose_thumbnail, parse_heif
from photosim.core.images import ImageLoadError, decode, decode_photo, heif_backend, is_image_name, read_file
from photosim.core.indexer import Indexer
from photosim.core.library import Library
from photosim.core.search import Searcher
from photosim.core.thumbnails import ThumbnailCache
from tests.photos import crop_center, mean_abs_diff, save_jpeg

TAKEN = dt.datetime(2023, 7, 14, 18, 30, 5)

#: EXIF orientation -> what the stored pixels look like relative to the upright picture (for checks).
SIDEWAYS = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """A real 4:3 photo (the shape phones shoot), big enough that its 320x240 thumbnail is smaller."""
    from skimage import data

    return Image.fromarray(data.chelsea()).convert("RGB").resize((1024, 768), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def heic_dir(tmp_path_factory: pytest.TempPathFactory, photo: Image.Image) -> Path:
    """HEIC files written once for the module: every orientation, iOS-style and libheif-style thumbnails."""
    folder = tmp_path_factory.mktemp("heic")
    for orientation in (1, 2, 3, 5, 6, 8):
        write_heic(photo, folder / f"o{orientation}-ios.heic", orientation=orientation, taken=TAKEN)
        write_heic(photo, folder / f"o{orientation}-libheif.heic", orientation=orientation, taken=TAKEN,
                   apple_rotation=False)
    write_heic(photo, folder / "no-thumb.heic", thumbnail=None, orientation=6, taken=TAKEN)
    write_heic(photo, folder / "small-thumb.heic", thumbnail=160, orientation=6, taken=TAKEN)
    return folder


def _upright_like(image: Image.Image, reference: Image.Image, sideways: Image.Image | None = None) -> None:
    """``image`` shows ``reference`` (not a turned or mirrored version of it)."""
    assert image.size[0] > image.size[1]  # landscape, like the reference
    assert mean_abs_diff(image, reference) < 8
    assert mean_abs_diff(image, reference.transpose(Image.Transpose.ROTATE_180)) > 20
    assert mean_abs_diff(image, reference.transpose(Image.Transpose.FLIP_LEFT_RIGHT)) > 15


# -- HEIC -----------------------------------------------------------------------------------------------
def test_the_decode_only_heif_library_is_preferred() -> None:
    try:
        import pi_heif  # noqa: F401
    except ImportError:
        assert heif_backend() == "pillow-heif"
    else:
        assert heif_backend() == "pi-heif"


@pytest.mark.parametrize("orientation", [1, 2, 3, 5, 6, 8])
@pytest.mark.parametrize("writer", ["ios", "libheif"])
def test_heic_thumbnail_is_used_upright_with_the_photos_size_and_time(
    heic_dir: Path, photo: Image.Image, orientation: int, writer: str
) -> None:
    path = heic_dir / f"o{orientation}-{writer}.heic"
    layout = parse_heif(path.read_bytes())
    assert layout is not None
    thumb_id = layout.thumbnails(layout.primary_id)[0]
    # iOS: the primary image carries the rotation and the thumbnail none; libheif: both carry it.
    assert bool(layout.transforms(thumb_id)) == (writer == "libheif" and orientation != 1)
    got = decode_photo(read_file(path), 224)
    assert got.source == "thumbnail"
    assert got.image.size == (320, 240)  # the thumbnail, not the 1024x768 photo
    assert (got.width, got.height) == photo.size  # the catalog gets the photo's own size...
    assert got.taken_at == TAKEN.timestamp()  # ...and its capture time
    _upright_like(got.image, photo)
    full = decode_photo(read_file(path))  # libheif's own decode of the primary image agrees
    assert full.source == "full" and full.image.size == photo.size
    _upright_like(full.image, photo)


def test_heic_without_a_big_enough_thumbnail_is_decoded_in_full(heic_dir: Path, photo: Image.Image) -> None:
    for name in ("no-thumb.heic", "small-thumb.heic"):
        got = decode_photo(read_file(heic_dir / name), 224)
        assert got.source == "full" and got.image.size == photo.size, name
        assert (got.width, got.height) == photo.size and got.taken_at == TAKEN.timestamp()
        _upright_like(got.image, photo)


def test_thumbnail_rules_refuse_other_shapes_and_other_rotations(heic_dir: Path) -> None:
    """A thumbnail is used only when it is the photo scaled down: same shape, compatible rotation."""
    layout = parse_heif((heic_dir / "o6-libheif.heic").read_bytes())
    assert layout is not None
    thumb_id = layout.thumbnails(layout.primary_id)[0]
    assert choose_thumbnail(layout, 224) is not None
    assert choose_thumbnail(layout, 241) is None  # 240 px short side: too small for 241
    assert choose_thumbnail(layout, 0, 320) is not None  # the grid's 320 px cells need the long side only
    ispe = next(p for p in layout.props(thumb_id) if p.kind == "ispe")
    ispe.size = (240, 180 + 60)  # a square thumbnail of a 4:3 photo (black bars, another crop)
    assert choose_thumbnail(layout, 224) is None
    ispe.size = (240, 320)
    # The thumbnail turned the other way from the photo: which one is right cannot be known.
    layout.properties.append(heif_container.Property("irot", transform=Transform("irot", 1)))
    association = next(a for a in layout.items[thumb_id].associations
                       if layout.properties[a.index - 1].kind == "irot")
    association.index = len(layout.properties)
    assert choose_thumbnail(layout, 224) is None


def test_heif_parser_survives_any_bytes(heic_dir: Path) -> None:
    data = (heic_dir / "o6-ios.heic").read_bytes()
    rng = np.random.default_rng(5)
    for cut in (0, 12, 40, 300, 1000, 2000, 3000):
        assert parse_heif(data[:cut]) is None or isinstance(parse_heif(data[:cut]), heif_container.HeifLayout)
    for _ in range(200):
        noisy = bytearray(data[:4000])
        for pos in rng.integers(16, len(noisy), size=8):
            noisy[pos] = int(rng.integers(256))
        layout = parse_heif(bytes(noisy))  # must never raise
        if layout is not None:
            choose_thumbnail(layout, 224)


# -- DNG ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dng_dir(tmp_path_factory: pytest.TempPathFactory, photo: Image.Image) -> Path:
    folder = tmp_path_factory.mktemp("dng")
    big = photo.resize((1200, 800), Image.Resampling.BICUBIC)
    for orientation in (1, 3, 6, 8):
        write_dng(big, folder / f"o{orientation}.dng", preview=0, orientation=orientation, taken=TAKEN,
                  rng=np.random.default_rng(orientation))
    write_dng(big, folder / "sony.dng", preview=600, orientation=6, taken=TAKEN, rng=np.random.default_rng(9))
    write_dng(big, folder / "no-preview.dng", preview=None, orientation=6, taken=TAKEN, rng=np.random.default_rng(7))
    return folder


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_dng_is_read_through_its_preview_upright(dng_dir: Path, photo: Image.Image, orientation: int) -> None:
    import rawpy

    path = dng_dir / f"o{orientation}.dng"
    with rawpy.imread(str(path)) as raw:  # libraw itself reads the file we wrote as a camera DNG
        assert raw.sizes.flip == LIBRAW_FLIP[orientation]
        assert raw.extract_thumb().format == rawpy.ThumbFormat.JPEG
    reference = photo.resize((1200, 800))
    got = decode_photo(read_file(path), 224)
    assert got.source == "preview"
    assert got.image.size == (600, 400)  # the 1200x800 preview drafted to 1/2 (1/4 would not cover 224)
    assert (got.width, got.height) == (1200, 800)
    assert got.taken_at == TAKEN.timestamp()
    _upright_like(got.image, reference)


def test_dng_preview_smaller_than_the_photo_and_no_preview_at_all(dng_dir: Path, photo: Image.Image) -> None:
    reference = photo.resize((1200, 800))
    sony = decode_photo(read_file(dng_dir / "sony.dng"), 224)
    assert sony.source == "preview" and (sony.width, sony.height) == (1200, 800)
    _upright_like(sony.image, reference)
    # Only the 256 px IFD0 thumbnail: too small for the model, so the sensor data is demosaiced.
    raw = decode_photo(read_file(dng_dir / "no-preview.dng"), 224)
    assert raw.source == "raw" and raw.image.size == (600, 400)  # half size, turned upright by libraw
    assert (raw.width, raw.height) == (1200, 800) and raw.taken_at == TAKEN.timestamp()
    # libraw renders with its own tone curve: compare shapes of light, not exact levels
    a = np.asarray(raw.image.convert("L").resize((120, 80)), dtype=np.float32).ravel()
    for candidate, should_match in ((reference, True), (reference.transpose(Image.Transpose.ROTATE_180), False)):
        b = np.asarray(candidate.convert("L").resize((120, 80)), dtype=np.float32).ravel()
        corr = float(np.corrcoef(a, b)[0, 1])
        assert (corr > 0.9) if should_match else (corr < 0.5), corr
    # asked for the full size, a preview that is not full size does not serve
    assert decode_photo(read_file(dng_dir / "sony.dng")).source == "raw"
    assert decode_photo(read_file(dng_dir / "o1.dng")).source == "preview"  # a full-size one does


def test_raw_bytes_without_a_name_are_recognised(dng_dir: Path) -> None:
    data = (dng_dir / "o6.dng").read_bytes()
    assert images.sniff_format(data[:4096]) == "raw"  # a TIFF with a DNGVersion tag
    assert decode_photo(data, 224).source == "preview"


def test_big_files_are_hashed_through_a_map_and_decoded_from_their_path(
    dng_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xxhash

    path = dng_dir / "o8.dng"
    in_memory = read_file(path)
    monkeypatch.setattr(images, "MAP_LIMIT", 1024)
    mapped = read_file(path)
    assert in_memory.data is not None and mapped.data is None
    assert mapped.fingerprint == in_memory.fingerprint == xxhash.xxh3_128(path.read_bytes()).hexdigest()
    assert decode_photo(mapped, 224).source == "preview"
    # a name that is not valid UTF-8 (libraw's path API cannot take it): the bytes are handed over
    odd = Path(os.fsdecode(bytes(dng_dir / "o8") + b"-caf\xe9.dng"))
    shutil.copy(path, odd)
    try:
        assert decode_photo(read_file(odd), 224).source == "preview"
    finally:
        odd.unlink()


# -- AVIF -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("orientation", [1, 6])
def test_avif_is_read_upright(tmp_path: Path, photo: Image.Image, orientation: int) -> None:
    path = write_avif(photo, tmp_path / "photo.avif", orientation=orientation, taken=TAKEN)
    assert is_image_name(path.name)
    got = decode_photo(read_file(path), 224)
    assert (got.width, got.height) == photo.size and got.taken_at == TAKEN.timestamp()
    _upright_like(got.image, photo)


# -- the rest of the app sees them ----------------------------------------------------------------------
def test_scanner_names() -> None:
    for name in ("a.dng", "B.CR2", "c.cr3", "d.NEF", "e.arw", "f.orf", "g.rw2", "h.RAF", "i.avif", "j.HEIC"):
        assert is_image_name(name), name
    assert not is_image_name("k.raw") and not is_image_name("notes.txt")


def test_grid_thumbnails_come_from_the_embedded_pictures(
    heic_dir: Path, dng_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources: list[str] = []
    real = images.decode_photo

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        photo = real(*args, **kwargs)
        sources.append(photo.source)
        return photo

    monkeypatch.setattr(images, "decode_photo", spy)
    cache = ThumbnailCache(tmp_path / "cache")
    heic = cache.get(str(heic_dir / "o6-ios.heic"))
    dng = cache.get(str(dng_dir / "o6.dng"))
    assert sources == ["thumbnail", "preview"]
    assert heic.size == (320, 240) and dng.size == (320, 213)
    assert heic.size[0] > heic.size[1] and dng.size[0] > dng.size[1]  # upright


def test_corrupt_and_truncated_phone_and_camera_files_give_one_line_reasons(heic_dir: Path, dng_dir: Path,
                                                                             tmp_path: Path) -> None:
    def reason(data: bytes, name: str) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ImageLoadError) as info:
            decode_photo(read_file(path), 224)
        text = str(info.value)
        assert "\n" not in text and 5 < len(text) < 200
        return text

    heic = (heic_dir / "o6-ios.heic").read_bytes()
    assert "truncated" in reason(heic[: len(heic) // 2], "cut.heic")
    assert "truncated" in reason(heic[:2500], "header-only.heic")
    dng = (dng_dir / "o6.dng").read_bytes()
    assert "truncated" in reason(dng[: len(dng) // 2], "cut.dng")
    assert "truncated" in reason(dng[:3000], "header-only.dng")
    assert reason(b"II*\0" + bytes(range(256)) * 40, "noise.nef")
    assert "not a RAW file" in reason(b"this is a text file named like a raw file\n" * 50, "notes.cr2")


def test_a_jpeg_copy_finds_the_heic_and_dng_originals(tmp_path: Path, library: Library) -> None:
    from tests.photos import sample_images

    samples = sample_images(n_interior=4)
    folder = tmp_path / "phone"
    folder.mkdir()
    heics, dngs = ["chelsea", "coffee", "astronaut"], ["rocket", "china", "flower"]
    for name in heics:
        write_heic(samples[name], folder / f"{name}.heic", thumbnail=round(240 * max(samples[name].size)
                   / min(samples[name].size)), orientation=6, taken=TAKEN)
    for name in dngs:
        write_dng(samples[name], folder / f"{name}.dng", preview=0, orientation=8, rng=np.random.default_rng(3))
    for name in list(samples)[-4:]:
        shutil.copy(save_jpeg(samples[name], tmp_path / f"{name}.jpg"), folder / f"{name}.jpg")
    library.catalog.add_folder(str(folder))
    report = Indexer(library).run()
    assert report.failed == 0 and report.indexed == len(heics) + len(dngs) + 4
    row = library.catalog.get_by_path(str(folder / "chelsea.heic"))
    assert row is not None and (row.width, row.height) == samples["chelsea"].size
    searcher = Searcher(library)
    for name in heics + dngs:
        query = save_jpeg(crop_center(samples[name], 0.85), tmp_path / "queries" / f"{name}.jpg", quality=80)
        hits = searcher.search_file(query, 3)
        assert Path(hits[0].path).stem == name, (name, [Path(h.path).name for h in hits])
        assert decode(folder / Path(hits[0].path).name, 224).size[0] > 0
