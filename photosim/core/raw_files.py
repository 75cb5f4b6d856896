"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, ORF, RW2, RAF and the rest libraw knows), via rawpy.

Why through the embedded preview: every RAW file carries a JPEG the camera rendered for its own
screen, from 1616x1080 (Sony) to full size (Canon, Nikon). It is the picture the photographer saw,
and decoding it at a reduced DCT scale costs 20-40 ms of one core on a 24 MP file, where
demosaicing the sensor data costs seconds at full size and about 0.5 s at half size. Only when a
file has no preview at least as big as the caller needs is the sensor data decoded (half size,
libraw's default rendering: camera white balance, sRGB), which is slow but right.

Orientation comes from the RAW's metadata (libraw's ``flip``), not from the preview's own EXIF (most
previews have none; where one has, it may or may not repeat the file's). The preview is stored the
way the sensor saw the scene; a preview that is already upright (its shape matches the turned
picture and not the sensor's) is left as it is. The catalog gets the sensor picture's size, turned
per the orientation, and libraw's capture time.

Errors become :class:`ImageLoadError` with a one-line reason, like every other format.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from PIL import Image

from .images import MAX_PIXELS, DecodedPhoto, ImageLoadError, draft_request, taken_at_from_exif, to_rgb

log = logging.getLogger(__name__)

#: libraw's ``flip`` -> the transpose that turns the sensor picture upright.
_FLIP_TRANSPOSE = {
    3: Image.Transpose.ROTATE_180,
    5: Image.Transpose.ROTATE_90,  # 90 degrees counter-clockwise
    6: Image.Transpose.ROTATE_270,  # 90 degrees clockwise
}

#: Where TIFF-based RAW files keep IFD0 and the EXIF IFD (the capture time): near the start.
_METADATA_BYTES = 256 * 1024

#: A preview whose shape differs from the sensor picture's by more than this share is checked
#: against the turned shape (already upright?) before being turned.
_ASPECT_TOLERANCE = 0.03


class NotRawError(ImageLoadError):
    """libraw does not know the file: not a RAW file, or a camera too new for this libraw."""


class _SharedBytes:
    """A file-like object whose ``read()`` hands rawpy the bytes already in memory, without a copy."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, *_args: Any) -> bytes:
        return self._data


def decode_raw(data: bytes | None, path: str | None, min_side: int, min_long_side: int,
               embedded: bool = True) -> DecodedPhoto:
    """Decode a RAW file (from ``data`` when given, else from ``path``) for a caller needing ``min_side``.

    Both minimums 0 ask for the full size: the preview only serves when it is full size itself.
    ``embedded=False`` always decodes the sensor data (the benchmark compares the two).
    """
    try:
        import rawpy
    except Exception:  # noqa: BLE001 - a missing wheel: RAW files fail with a reason, nothing else does
        raise ImageLoadError("RAW file, but rawpy (libraw) is not installed") from None
    raw = rawpy.RawPy()
    try:
        try:
            if data is not None:
                raw.open_buffer(_SharedBytes(data))
            else:
                assert path is not None
                try:
                    raw.open_file(path)
                except UnicodeError:  # a path libraw's API cannot take: hand it the bytes
                    with open(path, "rb") as fh:
                        raw.open_buffer(_SharedBytes(fh.read()))
            head = data[:_METADATA_BYTES] if data is not None else _read_head(path)
            return _decode_opened_raw(raw, rawpy, head, min_side, min_long_side, embedded)
        except rawpy.LibRawFileUnsupportedError:
            raise NotRawError("not a RAW file libraw can read, or a camera it does not know") from None
        except rawpy.LibRawTooBigError:
            raise ImageLoadError("RAW image too large to decode") from None
        except rawpy.LibRawIOError as exc:  # libraw read past the end of the data
            raise ImageLoadError(f"truncated RAW file, the file is incomplete (libraw: {_one_line(exc)})") from None
        except rawpy.LibRawDataError as exc:
            raise ImageLoadError(f"corrupt RAW data (libraw: {_one_line(exc)})") from None
        except rawpy.LibRawUnsufficientMemoryError:
            raise ImageLoadError("not enough memory to decode this RAW file") from None
        except rawpy.LibRawError as exc:
            raise ImageLoadError(f"corrupt or unsupported RAW data (libraw: {_one_line(exc)})") from None
    finally:
        raw.close()


def _read_head(path: str | None) -> bytes:
    if path is None:
        return b""
    with open(path, "rb") as fh:
        return fh.read(_METADATA_BYTES)


def _one_line(exc: BaseException) -> str:
    """libraw's message (rawpy passes it on as bytes) on one line."""
    arg = exc.args[0] if exc.args else ""
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    return (" ".join(text.split()) or type(exc).__name__)[:160]


def _decode_opened_raw(raw: Any, rawpy: Any, head: bytes, min_side: int, min_long_side: int,
                       embedded: bool) -> DecodedPhoto:
    sizes = raw.sizes
    flip = int(sizes.flip)
    sensor_w, sensor_h = int(sizes.width), int(sizes.height)
    if sensor_w <= 0 or sensor_h <= 0:
        raise ImageLoadError("RAW file has no image")
    if int(sizes.raw_width) * int(sizes.raw_height) > MAX_PIXELS:
        raise ImageLoadError(f"image too large: {sensor_w}x{sensor_h}")
    width, height = (sensor_h, sensor_w) if flip in (5, 6) else (sensor_w, sensor_h)

    full_size = not (min_side or min_long_side)
    if full_size:  # the preview must be the whole picture (a few pixels of crop margin aside)
        min_side, min_long_side = int(0.97 * min(sensor_w, sensor_h)), int(0.97 * max(sensor_w, sensor_h))
    preview = _preview(raw, rawpy, sensor_w, sensor_h, min_side, min_long_side) if embedded else None
    if preview is not None:
        image, upright = preview
        taken_at = _tiff_capture_time(head)
        if taken_at is None:  # CR3, RAF and the like: the preview's own EXIF, where it has one
            taken_at = taken_at_from_exif(_safe_exif(image))
        if not upright and flip in _FLIP_TRANSPOSE:
            image = image.transpose(_FLIP_TRANSPOSE[flip])
        return DecodedPhoto(to_rgb(image), width, height, taken_at, "preview")

    # No preview big enough: demosaic the sensor data, at half size where that still covers the need
    # (four times less work: each 2x2 Bayer block becomes one pixel). libraw applies the flip itself.
    half = not full_size and min(sensor_w, sensor_h) // 2 >= min_side and max(sensor_w, sensor_h) // 2 >= min_long_side
    rgb = raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
    taken_at = _tiff_capture_time(head)
    if taken_at is None:
        taken_at = _libraw_capture_time(raw)  # free now: the sensor data is unpacked already
    return DecodedPhoto(Image.fromarray(rgb).convert("RGB"), width, height, taken_at, "raw")


def _tiff_capture_time(head: bytes) -> float | None:
    """The EXIF capture time of a TIFF-based RAW file (DNG, CR2, NEF, ARW, PEF, ORF, RW2...) from its head.

    libraw knows it too, but rawpy only hands it over after unpacking the whole sensor data (200-300
    ms for 24 MP), which the preview path exists to avoid. ORF and RW2 are TIFF with another magic
    number, so a copy of their header with the TIFF one is read the same way.
    """
    if head[:4] in (b"IIRO", b"IIRS", b"IIU\0"):
        head = b"II*\0" + head[4:]
    elif head[:4] == b"MMOR":
        head = b"MM\0*" + head[4:]
    if head[:4] not in (b"II*\0", b"MM\0*"):
        return None
    exif = Image.Exif()
    try:
        exif.load(head)
    except Exception:  # noqa: BLE001 - unreadable metadata only loses the time
        return None
    return taken_at_from_exif(exif)


def _safe_exif(image: Image.Image) -> Image.Exif | None:
    try:
        return image.getexif()
    except Exception:  # noqa: BLE001
        return None


def _libraw_capture_time(raw: Any) -> float | None:
    try:
        value = raw.other.timestamp.timestamp()  # a naive local datetime, as EXIF times are read elsewhere
    except Exception:  # noqa: BLE001 - no time, or one outside the platform's range
        return None
    return value if value > 0 else None


def _preview(raw: Any, rawpy: Any, sensor_w: int, sensor_h: int, min_side: int,
             min_long_side: int) -> tuple[Image.Image, bool] | None:
    """(the embedded preview, whether it is already upright), or None when there is no usable one."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError as exc:  # e.g. the preview lies beyond a truncated file's end
        log.debug("RAW preview unreadable (%s); decoding the sensor data", exc)
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            im = Image.open(io.BytesIO(thumb.data))
            full_w, full_h = im.size
            if min(full_w, full_h) < min_side or max(full_w, full_h) < min_long_side:
                return None
            im.draft("RGB", draft_request(full_w, full_h, min_side, min_long_side))
            im.load()
        except Exception as exc:  # noqa: BLE001 - a broken preview: the sensor data may still be fine
            log.debug("RAW preview JPEG unreadable (%s); decoding the sensor data", exc)
            return None
    else:  # an RGB bitmap (DNG's IFD0 thumbnail, some older cameras)
        try:
            im = Image.fromarray(thumb.data)
        except Exception as exc:  # noqa: BLE001 - an odd layout libraw passed on: use the sensor data
            log.debug("RAW bitmap preview unusable (%s); decoding the sensor data", exc)
            return None
        full_w, full_h = im.size
        if min(full_w, full_h) < min_side or max(full_w, full_h) < min_long_side:
            return None
    return im, _already_upright(full_w, full_h, sensor_w, sensor_h)


def _already_upright(preview_w: int, preview_h: int, sensor_w: int, sensor_h: int) -> bool:
    """True when the preview has the turned shape and not the sensor's (some writers store it upright)."""
    if sensor_w == sensor_h or preview_w == preview_h:
        return False
    ratio = preview_w / preview_h
    sensor = sensor_w / sensor_h
    matches_sensor = abs(ratio / sensor - 1.0) <= _ASPECT_TOLERANCE
    matches_turned = abs(ratio * sensor - 1.0) <= _ASPECT_TOLERANCE
    return matches_turned and not matches_sensor
