"""Image decoding that is fast on camera-sized photos and never stops on a bad file.

Why it looks like this:

* Every file is read once: the bytes feed both the content fingerprint (used to recognise moved and
  renamed photos without re-embedding them) and the decoder. Files above :data:`MAP_LIMIT` (RAW
  files, mostly) are hashed through a memory map and decoded from their path instead: copying a
  49 MB DNG into a Python bytes object took 55 ms here, hashing the mapped file 4-13 ms, and
  libraw then reads only the headers and the preview it needs. The fingerprint is xxh3-128: 0.2 ms
  for a 2 MB photo where blake2b took 2.2 ms, 8% of the whole per-photo cost (measured). It guards
  against accidents, not adversaries: a collision could only make one photo reuse another's vector.
* JPEGs are decoded with ``Image.draft`` to a reduced DCT scale that is still at least twice the size
  the caller needs, which makes a 12-megapixel decode several times cheaper, then resampled properly.
* Phone and camera files are read through the small picture they carry, when it is big enough for
  the caller: a HEIC's embedded thumbnail (320x240 on iPhones: 2 ms instead of 450 ms for the 12 MP
  tiles, see :mod:`.heif_container`) and a RAW file's embedded JPEG preview (:mod:`.raw_files`). The
  catalog still gets the photo's own size and capture time.
* EXIF orientation is applied, so a photo stored sideways looks the way the camera meant it (HEIF
  rotates with its own boxes instead, which libheif applies; RAW files with libraw's orientation).
* Every odd input (zero bytes, text named .jpg, truncated data, decompression bombs, 16-bit, CMYK,
  palette, alpha) either becomes a plain 8-bit RGB image or raises :class:`ImageLoadError` with a
  one-line reason that the catalog stores and the UI shows.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import mmap
import os
import struct
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import xxhash
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from . import heif_container

log = logging.getLogger(__name__)

# We enforce our own pixel limit (below) with a clear message, so Pillow's global one is off.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False

RAW_EXTENSIONS = frozenset(
    {
        ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2", ".raf",
        ".pef", ".srw", ".rwl", ".iiq", ".3fr", ".fff", ".mos", ".mrw", ".dcr", ".kdc", ".erf", ".mef",
        ".x3f", ".gpr",
    }
)
"""Camera RAW files libraw reads (``.raw`` itself is left out: too many files that are not photos
carry it)."""

IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
        ".heic", ".heif", ".hif", ".avif",
    }
) | RAW_EXTENSIONS

MAX_PIXELS = 250_000_000
"""Images above this many pixels are refused as likely decompression bombs (a 250 MP panorama
still passes). JPEGs are checked after draft scaling, since only the reduced size is ever decoded."""

IN_MEMORY_LIMIT = 256 * 1024 * 1024
"""A HEIC above :data:`MAP_LIMIT` is still read whole (for its thumbnail) up to this size."""

MAP_LIMIT = 24 * 1024 * 1024
"""Files above this size are hashed through a memory map and decoded from their path (see above).
Camera JPEGs and HEICs stay below it; RAW files (25-50 MB at 24 MP) and big scans are above."""

_HEAD_BYTES = 4096
"""What format sniffing looks at (ISOBMFF brands, TIFF/RAW signatures and the first IFD's tags)."""


# -- HEIF library -------------------------------------------------------------------------------------
_heif_lock = threading.Lock()
_heif_module: ModuleType | None = None
_heif_tried = False


def heif_library() -> ModuleType | None:
    """The HEIF decoder module, loaded and registered with Pillow on first use (None: not installed).

    ``pi-heif`` is preferred: it decodes with libheif + libde265 and carries no encoder, where
    ``pillow-heif`` also bundles the GPL x265 encoder (the installers ship pi-heif; a development
    install may have pillow-heif too, to write test files). Loaded lazily so that a command that
    never meets a HEIC does not pay for the import.
    """
    global _heif_module, _heif_tried
    if _heif_tried:
        return _heif_module
    with _heif_lock:
        if not _heif_tried:
            _heif_module = _import_heif()
            _heif_tried = True
    return _heif_module


def _import_heif() -> ModuleType | None:
    for load in (_import_pi_heif, _import_pillow_heif):
        try:
            module = load()
            module.register_heif_opener()
        except Exception:  # noqa: BLE001 - a missing or broken wheel only costs HEIC support
            continue
        return module
    return None


def _import_pi_heif() -> ModuleType:
    import pi_heif

    return pi_heif


def _import_pillow_heif() -> ModuleType:
    import pillow_heif

    return pillow_heif


HEIF_AVAILABLE = any(importlib.util.find_spec(name) is not None for name in ("pi_heif", "pillow_heif"))
"""Whether a HEIF library is installed (found without importing it; :func:`heif_backend` says which)."""


def heif_backend() -> str | None:
    """Which HEIF library decodes ("pi-heif", "pillow-heif") or None; for ``status`` and the tests."""
    module = heif_library()
    return None if module is None else module.__name__.replace("_", "-")


_FINGERPRINT_CHUNK = 4 * 1024 * 1024


class ImageLoadError(Exception):
    """A file that cannot be used as a photo; ``str(err)`` is a one-line reason for the user."""


@dataclass(frozen=True)
class FileRead:
    """One file read from disk: its identity at read time and (for normal sizes) its bytes."""

    path: str
    size: int
    mtime_ns: int
    fingerprint: str
    data: bytes | None


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def read_file(path: str | os.PathLike[str]) -> FileRead:
    """Read a file, fingerprint its content and return both; raise ImageLoadError for unreadable files."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size == 0:
                raise ImageLoadError("empty file (0 bytes)")
            hasher = xxhash.xxh3_128()
            data: bytes | None = None
            if st.st_size <= MAP_LIMIT:
                data = fh.read()
                hasher.update(data)
                if len(data) == 0:
                    raise ImageLoadError("empty file (0 bytes)")
            else:
                try:
                    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                        hasher.update(mapped)
                except (OSError, ValueError):  # a file system that cannot map: read it in chunks
                    hasher.reset()
                    fh.seek(0)
                    while chunk := fh.read(_FINGERPRINT_CHUNK):
                        hasher.update(chunk)
    except ImageLoadError:
        raise
    except FileNotFoundError:
        raise ImageLoadError("file vanished before it could be read") from None
    except PermissionError:
        raise ImageLoadError("permission denied") from None
    except IsADirectoryError:
        raise ImageLoadError("is a folder, not a file") from None
    except OSError as exc:
        raise ImageLoadError(f"cannot read file: {exc.strerror or exc}") from None
    return FileRead(path, st.st_size, st.st_mtime_ns, hasher.hexdigest(), data)


@dataclass
class DecodedPhoto:
    """An upright RGB image plus what the catalog records about the original."""

    image: Image.Image
    width: int
    height: int
    taken_at: float | None
    #: Where the pixels came from: "full" (the whole image), "reduced" (a JPEG decoded at a reduced
    #: DCT scale), "thumbnail" (a HEIF's embedded thumbnail), "preview" (a RAW file's embedded
    #: preview), "raw" (a RAW file's sensor data, demosaiced at half size).
    source: str = "full"


Source = FileRead | bytes | str | os.PathLike[str]


def decode(source: Source, min_side: int = 0, *, min_long_side: int = 0, embedded: bool = True) -> Image.Image:
    """Decode to an upright 8-bit RGB image whose short side is at least ``min_side`` when possible.

    ``min_side`` lets JPEGs decode at a reduced DCT scale (draft) and phone and camera files use the
    picture they embed when it is that big; 0 means full size. ``min_long_side`` asks the same of the
    long side (a thumbnail grid cell needs that much, not more). ``embedded=False`` never uses an
    embedded thumbnail or preview (the benchmark compares vectors from both).
    """
    return decode_photo(source, min_side, min_long_side=min_long_side, embedded=embedded).image


def decode_photo(source: Source, min_side: int = 0, *, min_long_side: int = 0, embedded: bool = True) -> DecodedPhoto:
    """Like :func:`decode`, also returning the original size, the capture time and the pixels' source."""
    if isinstance(source, FileRead):
        data, path = source.data, source.path
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageLoadError("empty file (0 bytes)")
        data, path = bytes(source), None
    else:
        data, path = None, os.fspath(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _decode(data, path, min_side, min_long_side, embedded)
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError("not an image, or a format photosim cannot read") from None
    except FileNotFoundError:
        raise ImageLoadError("file vanished before it could be read") from None
    except PermissionError:
        raise ImageLoadError("permission denied") from None
    except MemoryError:
        raise ImageLoadError("not enough memory to decode this image") from None
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError, struct.error...)
        raise ImageLoadError(_describe_decode_error(exc)) from None


def _decode(data: bytes | None, path: str | None, min_side: int, min_long_side: int, embedded: bool) -> DecodedPhoto:
    head = data[:_HEAD_BYTES] if data is not None else _read_head(path)
    kind = sniff_format(head, path)
    if kind in ("raw", "maybe-raw"):
        from . import raw_files  # rawpy is imported only when a RAW file turns up

        try:
            return raw_files.decode_raw(data, path, min_side, min_long_side, embedded)
        except raw_files.NotRawError as exc:  # content decides: a JPEG named .dng, a TIFF with SubIFDs
            not_raw: ImageLoadError | None = exc
    else:
        not_raw = None
    if kind == "isobmff":
        heif_library()  # Pillow needs the plugin registered before it can identify a HEIC
        if embedded and (min_side or min_long_side) and heif_container.is_heif(head):
            if data is None and path is not None and os.path.getsize(path) <= IN_MEMORY_LIMIT:
                with open(path, "rb") as fh:
                    data = fh.read()
            if data is not None:
                photo = _decode_heif_thumbnail(data, min_side, min_long_side)
                if photo is not None:
                    return photo
    try:
        im = Image.open(io.BytesIO(data) if data is not None else path)  # type: ignore[arg-type]
    except UnidentifiedImageError:
        if kind == "isobmff" and heif_container.is_heif(head):
            raise ImageLoadError(_heif_failure(data, path)) from None
        if kind == "raw" and not_raw is not None:
            raise not_raw from None
        raise
    try:
        return _decode_opened(im, min_side, min_long_side)
    finally:
        im.close()


def _heif_failure(data: bytes | None, path: str | None) -> str:
    """Why a file with HEIF brands did not open: cut off, no decoder, or what libheif says."""
    if data is None and path is not None:
        with open(path, "rb") as fh:
            data = fh.read(IN_MEMORY_LIMIT)
    if data is not None and heif_container.is_truncated(data):
        return "truncated image data (the file is incomplete)"
    library = heif_library()
    if library is None:
        return "HEIC/HEIF file, but no HEIF decoder is installed (pi-heif or pillow-heif)"
    try:
        library.open_heif(io.BytesIO(data or b""), convert_hdr_to_8bit=True)
    except Exception as exc:  # noqa: BLE001 - the reason is what we are after
        return _describe_decode_error(exc)
    return "corrupt or unsupported HEIF data"


def _read_head(path: str | None) -> bytes:
    if path is None:
        return b""
    with open(path, "rb") as fh:
        return fh.read(_HEAD_BYTES)


def sniff_format(head: bytes, name: str | None = None) -> str:
    """"raw" (a camera RAW file), "maybe-raw", "isobmff" (HEIF, AVIF and kin) or "other" (Pillow decides).

    RAW is recognised by its extension or by its signature: Canon CR2 / CR3, Olympus ORF, Panasonic
    RW2, Fujifilm RAF, and any TIFF whose first IFD carries a DNGVersion tag. Bytes without a name (a
    search from stdin) that are a TIFF with SubIFDs, as NEF, ARW, PEF and SRW files are, are
    "maybe-raw": libraw is asked first, and Pillow reads them if libraw does not know them (a plain
    TIFF would otherwise give Pillow's reading of a RAW file: its 160 px first image).
    """
    if name is not None and os.path.splitext(name)[1].lower() in RAW_EXTENSIONS:
        return "raw"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "raw" if head[8:12] == b"crx " else "isobmff"
    if head.startswith(b"FUJIFILMCCD-RAW") or head[:4] in (b"IIRO", b"IIRS", b"MMOR", b"IIU\0"):
        return "raw"
    if head[:4] in (b"II*\0", b"MM\0*"):
        if head[8:10] == b"CR":
            return "raw"
        if _tiff_first_ifd_has(head, 0xC612):  # DNGVersion
            return "raw"
        if name is None and _tiff_first_ifd_has(head, 0x014A):  # SubIFDs
            return "maybe-raw"
    return "other"


def _tiff_first_ifd_has(head: bytes, tag: int) -> bool:
    """Whether the first IFD of a TIFF (as far as ``head`` holds it) has ``tag``."""
    endian = "<" if head[:2] == b"II" else ">"
    try:
        offset = struct.unpack_from(endian + "I", head, 4)[0]
        count = struct.unpack_from(endian + "H", head, offset)[0]
        for n in range(min(count, (len(head) - offset - 2) // 12)):
            if struct.unpack_from(endian + "H", head, offset + 2 + 12 * n)[0] == tag:
                return True
    except struct.error:
        return False
    return False


def _describe_decode_error(exc: BaseException) -> str:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    low = msg.lower()
    if "truncated" in low or isinstance(exc, EOFError) or "premature end" in low:
        return "truncated image data (the file is incomplete)"
    return f"corrupt or unsupported image data ({msg[:160]})"


def draft_request(width: int, height: int, min_side: int, min_long_side: int) -> tuple[int, int]:
    """The smallest (w, h) a reduced JPEG decode must still cover for both minimums (for ``draft``)."""
    long_side = max(width, height, 1)
    need_w = max(min_side, -(-min_long_side * width // long_side))
    need_h = max(min_side, -(-min_long_side * height // long_side))
    return need_w, need_h


def _decode_opened(im: Image.Image, min_side: int, min_long_side: int = 0) -> DecodedPhoto:
    if im.format == "MPO":  # multi-picture JPEGs: the first picture is the photo
        im.seek(0)
    full_w, full_h = im.size
    if full_w <= 0 or full_h <= 0:
        raise ImageLoadError("image has no pixels")
    source = "full"
    if (min_side or min_long_side) and im.format in ("JPEG", "MPO"):
        im.draft("RGB", draft_request(full_w, full_h, min_side, min_long_side))
        if im.size != (full_w, full_h):
            source = "reduced"
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise ImageLoadError(
            f"image too large: {full_w}x{full_h} ({full_w * full_h / 1e6:.0f} MP, limit {MAX_PIXELS // 1_000_000} MP)"
        )
    # Load before touching EXIF: for some formats getexif() loads the pixels itself, and an error
    # raised there must not be swallowed (a second load() would return a half-decoded image).
    im.load()
    exif = _safe_exif(im)
    orientation = exif.get(0x0112, 1) if exif else 1
    if orientation in (5, 6, 7, 8):
        full_w, full_h = full_h, full_w
    im = ImageOps.exif_transpose(im) or im
    return DecodedPhoto(to_rgb(im), full_w, full_h, taken_at_from_exif(exif), source)


_TRANSPOSE_FOR = {
    ("irot", 1): Image.Transpose.ROTATE_90,  # irot turns counter-clockwise, as Pillow's ROTATE_* do
    ("irot", 2): Image.Transpose.ROTATE_180,
    ("irot", 3): Image.Transpose.ROTATE_270,
    # imir as libheif reads it (checked against its own decode for every EXIF orientation): 0 swaps
    # top and bottom, 1 swaps left and right (the 2022 edition of the standard calls the field "mode").
    ("imir", 0): Image.Transpose.FLIP_TOP_BOTTOM,
    ("imir", 1): Image.Transpose.FLIP_LEFT_RIGHT,
}


def _decode_heif_thumbnail(data: bytes, min_side: int, min_long_side: int) -> DecodedPhoto | None:
    """The photo from its embedded HEIF thumbnail, or None when there is no usable one (see heif_container).

    The photo's own size and EXIF come from the original file (libheif parses it in about 0.4 ms
    without decoding anything); the pixels from a copy in which the thumbnail is the primary image.
    Any failure here only means the full decode runs, and that one reports errors properly.
    """
    library = heif_library()
    layout = heif_container.parse_heif(data)
    if library is None or layout is None:
        return None
    plan = heif_container.choose_thumbnail(layout, min_side, min_long_side)
    if plan is None:
        return None
    try:
        original = library.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        primary = original[original.primary_index]
        width, height = primary.size
        exif_bytes = primary.info.get("exif")
        patched = library.open_heif(
            io.BytesIO(heif_container.with_thumbnail_as_primary(data, layout, plan)), convert_hdr_to_8bit=True
        )
        thumb = patched[patched.primary_index]
        if thumb.size[0] * thumb.size[1] >= width * height:  # libheif did not take the thumbnail
            return None
        image = thumb.to_pillow()
    except Exception as exc:  # noqa: BLE001 - e.g. the thumbnail's data is cut off: decode the photo
        log.debug("HEIF thumbnail unusable (%s), decoding the full image", exc)
        return None
    for t in plan.apply:
        image = image.transpose(_TRANSPOSE_FOR[(t.kind, t.value)])
    w, h = image.size
    if w <= 0 or h <= 0 or abs((w / h) / (width / height) - 1.0) > heif_container.ASPECT_TOLERANCE:
        log.debug("HEIF thumbnail %dx%d does not match the photo's %dx%d shape", w, h, width, height)
        return None
    if min(w, h) < min_side or max(w, h) < min_long_side:
        return None
    exif = None
    if exif_bytes:
        exif = Image.Exif()
        try:
            exif.load(exif_bytes)
        except Exception:  # noqa: BLE001 - unreadable EXIF only loses the capture time
            exif = None
    return DecodedPhoto(to_rgb(image), width, height, taken_at_from_exif(exif), "thumbnail")


def _safe_exif(im: Image.Image) -> Image.Exif | None:
    try:
        return im.getexif()
    except Exception:
        return None


def taken_at_from_exif(exif: Image.Exif | None) -> float | None:
    """EXIF DateTimeOriginal (else DateTime) as a POSIX timestamp in local time, if readable."""
    if not exif:
        return None
    import datetime as _dt

    value = None
    try:
        value = exif.get_ifd(0x8769).get(0x9003)
    except Exception:
        value = None
    value = value or exif.get(0x0132)
    if not isinstance(value, str):
        return None
    try:
        return _dt.datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S").timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency is flattened onto white, 16-bit is scaled, not clipped."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        arr = np.asarray(im).astype(np.float32)
        hi = float(arr.max()) if arr.size else 0.0
        lo = float(arr.min()) if arr.size else 0.0
        if mode == "F":
            scale_lo, scale_hi = lo, (hi if hi > lo else lo + 1.0)
        elif hi > 255:
            scale_lo, scale_hi = 0.0, 65535.0
        else:
            scale_lo, scale_hi = 0.0, 255.0
        arr = (arr - scale_lo) * (255.0 / (scale_hi - scale_lo))
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L").convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info)
    if mode == "L" and "transparency" in im.info:
        has_alpha = True
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def load_rgb(path: str | os.PathLike[str] | Path, min_side: int = 0) -> Image.Image:
    """Convenience: read and decode a file in one step."""
    return decode(read_file(path), min_side)
