"""Image loading: every format and mode a photo library holds, and every kind of bad file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosim.core import images
from photosim.core.images import ImageLoadError, decode, decode_photo, read_file
from tests.photos import mean_abs_diff, save_jpeg, save_sideways_with_exif


@pytest.fixture(scope="module")
def cat() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.chelsea()).convert("RGB")


def test_camera_sized_jpeg_is_draft_decoded_but_keeps_its_true_size(tmp_path: Path, cat: Image.Image) -> None:
    big = cat.resize((4000, 3000), Image.Resampling.BICUBIC)
    path = save_jpeg(big, tmp_path / "camera.jpg")
    photo = decode_photo(read_file(path), min_side=448)
    assert (photo.width, photo.height) == (4000, 3000)
    assert 448 <= min(photo.image.size) < 3000  # reduced DCT scale, still twice the model input
    assert photo.image.mode == "RGB"
    assert mean_abs_diff(photo.image, big.resize(photo.image.size)) < 6


def test_exif_orientation_is_applied(tmp_path: Path, cat: Image.Image) -> None:
    path = save_sideways_with_exif(cat, tmp_path / "sideways.jpg")
    assert Image.open(path).size == (cat.height, cat.width)  # stored sideways
    photo = decode_photo(path)
    assert photo.image.size == cat.size
    assert (photo.width, photo.height) == cat.size
    assert mean_abs_diff(photo.image, cat) < 6
    assert mean_abs_diff(photo.image, cat.transpose(Image.Transpose.ROTATE_90).resize(cat.size)) > 20


@pytest.mark.parametrize(
    "fmt,ext", [("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif"), ("BMP", ".bmp"), ("HEIF", ".heic"), ("AVIF", ".avif")]
)
def test_formats(tmp_path: Path, cat: Image.Image, fmt: str, ext: str) -> None:
    if fmt == "HEIF" and images.heif_backend() is None:
        pytest.fail("pi-heif (or pillow-heif) is a dependency and must be importable")
    path = tmp_path / f"cat{ext}"
    if fmt == "HEIF":  # photosim's HEIF library only decodes; pillow-heif's encoder writes the test file
        import pillow_heif

        pillow_heif.from_pillow(cat).save(path, quality=95)
    else:
        cat.save(path, fmt, **({"quality": 95} if fmt in ("WEBP", "AVIF") else {}))
    out = decode(path)
    assert out.mode == "RGB" and out.size == cat.size
    assert mean_abs_diff(out, cat) < 8


def test_gif_uses_first_frame(tmp_path: Path) -> None:
    red = Image.new("RGB", (64, 48), (255, 0, 0))
    blue = Image.new("RGB", (64, 48), (0, 0, 255))
    path = tmp_path / "anim.gif"
    red.save(path, save_all=True, append_images=[blue], duration=100, loop=0)
    out = np.asarray(decode(path))
    assert out.shape == (48, 64, 3)
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 50


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path, cat: Image.Image) -> None:
    path = tmp_path / "cmyk.jpg"
    cat.convert("CMYK").save(path, "JPEG", quality=95)
    out = decode(path)
    assert out.mode == "RGB"
    assert mean_abs_diff(out, cat) < 12


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256, dtype=np.uint16), (32, 1))
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode in ("I;16", "I")
    out = np.asarray(decode(path))[..., 0]
    assert out.min() <= 2 and out.max() >= 253
    assert 100 < out.mean() < 155  # a ramp, not a white image


def test_alpha_and_palette_transparency_flatten_onto_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    rgba.paste((0, 128, 0, 255), (0, 0, 20, 40))
    rgba.save(tmp_path / "alpha.png")
    out = np.asarray(decode(tmp_path / "alpha.png"))
    assert tuple(out[5, 30]) == (255, 255, 255)
    assert tuple(out[5, 5]) == (0, 128, 0)
    pal = rgba.convert("P", palette=Image.Palette.ADAPTIVE)
    pal.info["transparency"] = pal.getpixel((30, 5))
    pal.save(tmp_path / "pal.gif", transparency=pal.getpixel((30, 5)))
    out = np.asarray(decode(tmp_path / "pal.gif"))
    assert tuple(out[5, 30]) == (255, 255, 255)


def test_greyscale_and_mislabeled_files_load(tmp_path: Path, cat: Image.Image) -> None:
    cat.convert("L").save(tmp_path / "grey.jpg")
    assert decode(tmp_path / "grey.jpg").mode == "RGB"
    cat.save(tmp_path / "really_a_png.jpg", "PNG")  # wrong extension: content decides
    assert decode(tmp_path / "really_a_png.jpg").size == cat.size


def test_fingerprint_follows_content_not_name(tmp_path: Path, cat: Image.Image) -> None:
    a = save_jpeg(cat, tmp_path / "a.jpg")
    b = tmp_path / "b.jpg"
    b.write_bytes(a.read_bytes())
    c = save_jpeg(cat, tmp_path / "c.jpg", quality=50)
    assert read_file(a).fingerprint == read_file(b).fingerprint != read_file(c).fingerprint


# -- bad input ----------------------------------------------------------------------------------
def _reason(path: Path) -> str:
    with pytest.raises(ImageLoadError) as info:
        decode_photo(read_file(path), 448)
    reason = str(info.value)
    assert "\n" not in reason and 5 < len(reason) < 200
    return reason


def test_zero_byte_file(tmp_path: Path) -> None:
    (tmp_path / "zero.jpg").write_bytes(b"")
    assert "empty" in _reason(tmp_path / "zero.jpg")


def test_text_named_jpg(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("shopping list: milk, eggs\n" * 20)
    assert "not an image" in _reason(tmp_path / "notes.jpg")


def test_truncated_jpeg(tmp_path: Path, cat: Image.Image) -> None:
    full = save_jpeg(cat, tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(full[: len(full) // 2])
    assert "truncated" in _reason(tmp_path / "cut.jpg")


def test_corrupt_png(tmp_path: Path, cat: Image.Image) -> None:
    cat.save(tmp_path / "ok.png")
    data = bytearray((tmp_path / "ok.png").read_bytes())
    data[200:400] = b"\x00" * 200
    (tmp_path / "bad.png").write_bytes(bytes(data))
    assert _reason(tmp_path / "bad.png")


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    Image.new("1", (20000, 14000)).save(tmp_path / "bomb.png")  # 280 MP of nothing, a small file
    assert os.path.getsize(tmp_path / "bomb.png") < 2_000_000
    assert "too large" in _reason(tmp_path / "bomb.png")


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cat: Image.Image) -> None:
    path = save_jpeg(cat, tmp_path / "secret.jpg")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    # Tests run as root in CI, where chmod 000 would not stop a read: deny at the open() call instead.
    monkeypatch.setattr(images, "open", denied, raising=False)
    assert "permission denied" in _reason(path)


def test_vanished_file(tmp_path: Path) -> None:
    with pytest.raises(ImageLoadError, match="vanished"):
        read_file(tmp_path / "gone.jpg")


def test_bytes_input(cat: Image.Image, tmp_path: Path) -> None:
    data = save_jpeg(cat, tmp_path / "x.jpg").read_bytes()
    assert decode(data).size == cat.size
    with pytest.raises(ImageLoadError):
        decode(b"definitely not an image")
