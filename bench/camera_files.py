"""Writers for the phone and camera files photosim reads: HEIC (with and without the thumbnail phones
embed), DNG (with and without the JPEG preview cameras embed) and AVIF.

The benchmark corpus and the tests both use them, so that what is measured and what is tested are the
same kind of file. They write files the way devices do, not the way a converter would:

* **HEIC** as iPhones write it: the photo as a grid of 512 px HEVC tiles, a 320 px HEVC thumbnail
  referenced from it (``thmb``) and downscaled with a proper filter (libheif's encoder samples its
  thumbnails nearest-neighbour, which no phone does; see :func:`_filtered_thumbnail`), EXIF with the
  capture time. A photo taken with the phone held upright is stored sideways with a rotation
  (``irot``) on the primary image only, as iOS does: the thumbnail then carries no rotation of its
  own and is stored the way the primary's coded pixels are (libheif issue 548 describes this).
  ``apple_rotation=False`` gives the thumbnail its own rotation instead, as libheif's encoder does.
* **DNG** as Adobe's converter and DNG-writing cameras lay it out: IFD0 a small RGB thumbnail, a
  SubIFD with the raw Bayer mosaic (RGGB, linear, camera RGB = linear sRGB so a real raw decode gives
  the photo back; 12-bit samples packed, 36 MB at 24 MP, between a losslessly compressed 14-bit raw
  at 25-30 MB and an uncompressed one at 48 MB), and a SubIFD with a baseline JPEG preview. The
  orientation and the capture time are in IFD0, as in every TIFF-based raw format. libraw reads all
  of it (checked with rawpy: ``extract_thumb`` returns the preview, ``postprocess`` the mosaic,
  ``sizes.flip`` the orientation, ``other.timestamp`` the time).
* **AVIF** with Pillow's own encoder (Pillow 11.3+ has libavif built in).

Writing HEIC needs ``pillow-heif`` (its x265 encoder); photosim itself only decodes.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

# -- HEIC ---------------------------------------------------------------------------------------------

#: EXIF orientation -> the transpose that turns the upright picture into the stored (sensor) pixels:
#: the inverse of what ``ImageOps.exif_transpose`` applies for it.
_STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def exif_bytes(taken: dt.datetime | None, orientation: int = 1, make: str = "PhotosimBench",
               model: str = "Synthetic") -> bytes:
    """EXIF with make, model, capture time (DateTime and DateTimeOriginal) and an orientation."""
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    if orientation != 1:
        exif[0x0112] = orientation
    if taken is not None:
        stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
        exif[0x0132] = stamp
        exif.get_ifd(0x8769)[0x9003] = stamp
    return exif.tobytes()


def write_heic(upright: Image.Image, path: str | Path, *, thumbnail: int | None = 320, orientation: int = 1,
               taken: dt.datetime | None = None, quality: int = 80, apple_rotation: bool = True,
               fast: bool = True) -> Path:
    """Write ``upright`` as a phone HEIC: stored per EXIF ``orientation`` (1-8), with libheif's rotation
    and mirror boxes saying how to show it.

    ``thumbnail`` is the long side of the embedded thumbnail (None: none). ``fast`` uses x265's
    ultrafast preset (4 s instead of 20 s for 12 MP; decoding costs about the same).
    """
    import pillow_heif  # the encoder; only needed to WRITE test files

    path = Path(path)
    transpose = _STORE_FOR_ORIENTATION[orientation]
    stored = upright.convert("RGB") if transpose is None else upright.convert("RGB").transpose(transpose)
    heif = pillow_heif.from_pillow(stored)
    for attempt in range(3):  # x265 sometimes fails to start its threads on a saturated machine
        buf = io.BytesIO()
        try:
            heif.save(buf, quality=quality, thumbnails=[thumbnail] if thumbnail else [],
                      enc_params={"preset": "ultrafast"} if fast else {}, tile_size=512,
                      exif=exif_bytes(taken, orientation, model="Synthetic phone"))
            break
        except RuntimeError:
            if attempt == 2:
                raise
    data = bytearray(buf.getvalue())
    if thumbnail:
        data = _filtered_thumbnail(data, stored, quality, fast)
        if apple_rotation and orientation != 1:
            _drop_thumbnail_rotation(data)
    path.write_bytes(bytes(data))
    return path


def _iloc_extents(data: bytes | bytearray) -> dict[int, list[tuple[int, int, int, int, int, int]]]:
    """item id -> [(offset field position, its size, length field position, its size, construction
    method, base offset)]: where to read and patch each extent of each item in ``iloc``."""
    from photosim.core.heif_container import iter_boxes

    meta = next((s, e) for kind, _b, s, e in iter_boxes(bytes(data), 0, len(data)) if kind == "meta")
    start = next(s for kind, _b, s, _e in iter_boxes(bytes(data), meta[0] + 4, meta[1]) if kind == "iloc")
    version = data[start]
    pos = start + 4
    offset_size, length_size = data[pos] >> 4, data[pos] & 15
    base_size, index_size = data[pos + 1] >> 4, (data[pos + 1] & 15) if version in (1, 2) else 0
    pos += 2
    count_size = 2 if version < 2 else 4
    count = int.from_bytes(data[pos : pos + count_size], "big")
    pos += count_size
    out: dict[int, list[tuple[int, int, int, int, int, int]]] = {}
    for _ in range(count):
        item_id = int.from_bytes(data[pos : pos + count_size], "big")
        pos += count_size
        method = 0
        if version in (1, 2):
            method = data[pos + 1] & 15
            pos += 2
        pos += 2  # data_reference_index
        base = int.from_bytes(data[pos : pos + base_size], "big")
        pos += base_size
        n = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        extents = []
        for _ in range(n):
            pos += index_size
            extents.append((pos, offset_size, pos + offset_size, length_size, method, base))
            pos += offset_size + length_size
        out[item_id] = extents
    return out


def _filtered_thumbnail(data: bytearray, stored: Image.Image, quality: int, fast: bool) -> bytearray:
    """Replace the thumbnail's pixels with a properly filtered downscale, as phones make them.

    libheif's encoder makes the thumbnail by nearest-neighbour sampling: an aliased picture whose
    vector is at cosine 0.89-0.97 of the photo's, where a filtered one (what an iPhone stores) is at
    0.997-0.999 (measured on the corpus). So the thumbnail is encoded again from a Lanczos downscale
    of the same stored pixels, its HEVC data appended in a new ``mdat``, and the thumbnail item's
    ``iloc`` extent and ``hvcC`` property pointed at it (same-length patches: nothing else moves).
    """
    import pillow_heif

    from photosim.core.heif_container import parse_heif

    layout = parse_heif(bytes(data))
    if layout is None:
        raise ValueError("not a HEIF file")
    for thumb_id in layout.thumbnails(layout.primary_id):
        size = layout.size(thumb_id)
        assert size is not None
        small = stored.resize(size, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        pillow_heif.from_pillow(small).save(buf, quality=quality, enc_params={"preset": "ultrafast"} if fast else {})
        single = buf.getvalue()
        one = parse_heif(single)
        assert one is not None
        (offset_at, offset_size, length_at, length_size, _method, base), = _iloc_extents(single)[one.primary_id]
        offset = base + int.from_bytes(single[offset_at : offset_at + offset_size], "big")
        length = int.from_bytes(single[length_at : length_at + length_size], "big")
        bitstream = single[offset : offset + length]
        new_hvcc = _property_bytes(single, one, one.primary_id, "hvcC")
        old_span = _property_span(data, layout, thumb_id, "hvcC")
        if len(new_hvcc) != old_span[1] - old_span[0]:
            raise ValueError("the re-encoded thumbnail's hvcC differs in length")
        extents = _iloc_extents(data)[thumb_id]
        if len(extents) != 1 or extents[0][4] != 0:
            raise ValueError("the thumbnail is not one extent in the file")
        (t_offset_at, t_offset_size, t_length_at, t_length_size, _m, t_base), = extents
        new_offset = len(data) + 8 - t_base
        data[old_span[0] : old_span[1]] = new_hvcc
        data[t_offset_at : t_offset_at + t_offset_size] = new_offset.to_bytes(t_offset_size, "big")
        data[t_length_at : t_length_at + t_length_size] = len(bitstream).to_bytes(t_length_size, "big")
        data += struct.pack(">I4s", 8 + len(bitstream), b"mdat") + bitstream
    return data


def _property_span(data: bytes | bytearray, layout: object, item_id: int, kind: str) -> tuple[int, int]:
    """Where the ``kind`` property box associated with ``item_id`` lies in the file."""
    from photosim.core.heif_container import iter_boxes

    raw = bytes(data)
    boxes = []
    meta = next((s, e) for k, _b, s, e in iter_boxes(raw, 0, len(raw)) if k == "meta")
    iprp = next((s, e) for k, _b, s, e in iter_boxes(raw, meta[0] + 4, meta[1]) if k == "iprp")
    ipco = next((s, e) for k, _b, s, e in iter_boxes(raw, iprp[0], iprp[1]) if k == "ipco")
    boxes = [(b, e) for _k, b, _s, e in iter_boxes(raw, ipco[0], ipco[1])]
    for assoc in layout.items[item_id].associations:  # type: ignore[attr-defined]
        if layout.properties[assoc.index - 1].kind == kind:  # type: ignore[attr-defined]
            return boxes[assoc.index - 1]
    raise ValueError(f"item {item_id} has no {kind}")


def _property_bytes(data: bytes, layout: object, item_id: int, kind: str) -> bytes:
    start, end = _property_span(data, layout, item_id, kind)
    return data[start:end]


def _drop_thumbnail_rotation(data: bytearray) -> None:
    """Make the thumbnail carry no rotation or mirror, as iOS writes it: those associations become ``colr``.

    Done in place with bytes of the same length (no offset in the file moves), using photosim's own
    container reader to find the association.
    """
    from photosim.core.heif_container import parse_heif

    layout = parse_heif(bytes(data))
    if layout is None:
        raise ValueError("not a HEIF file")
    colr = next(n for n, p in enumerate(layout.properties, 1) if p.kind == "colr")
    for thumb_id in layout.thumbnails(layout.primary_id):
        for assoc in layout.items[thumb_id].associations:
            if layout.properties[assoc.index - 1].kind not in ("irot", "imir"):
                continue
            if assoc.width == 1:
                data[assoc.offset] = colr  # essential bit cleared: colour information is not essential
            else:
                data[assoc.offset : assoc.offset + 2] = colr.to_bytes(2, "big")


# -- DNG ----------------------------------------------------------------------------------------------

_TIFF_TYPES = {"B": (1, 1), "A": (2, 1), "H": (3, 2), "I": (4, 4), "R": (5, 8), "U": (7, 1), "SR": (10, 8)}

# sRGB (D65) -> XYZ; its inverse is the DNG ColorMatrix1 (XYZ -> camera) of a camera whose RGB is linear sRGB.
_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])

#: EXIF / TIFF orientation -> libraw's ``sizes.flip`` (what rawpy reports).
LIBRAW_FLIP = {1: 0, 3: 3, 6: 6, 8: 5}


class _Ifd:
    """One TIFF IFD under construction: tags -> (type code, values), plus blobs placed after it."""

    def __init__(self) -> None:
        self.tags: dict[int, tuple[str, object]] = {}

    def set(self, tag: int, kind: str, value: object) -> None:
        self.tags[tag] = (kind, value)


def _tiff_value(kind: str, value: object) -> tuple[int, int, bytes]:
    code, size = _TIFF_TYPES[kind]
    if kind == "A":
        raw = str(value).encode("ascii") + b"\0"
        return code, len(raw), raw
    if kind == "U":
        raw = bytes(value)  # type: ignore[arg-type]
        return code, len(raw), raw
    values = list(value) if isinstance(value, (list, tuple)) else [value]  # type: ignore[arg-type]
    if kind in ("R", "SR"):
        fmt = "<II" if kind == "R" else "<ii"
        raw = b"".join(struct.pack(fmt, *_rational(v)) for v in values)
        return code, len(values), raw
    fmt = {"B": "<B", "H": "<H", "I": "<I"}[kind]
    return code, len(values), b"".join(struct.pack(fmt, int(v)) for v in values)


def _rational(v: object) -> tuple[int, int]:
    if isinstance(v, tuple):
        return int(v[0]), int(v[1])
    den = 10000
    return int(round(float(v) * den)), den  # type: ignore[arg-type]


def _write_tiff(ifd0: _Ifd, sub_ifds: Sequence[_Ifd], blobs: dict[int, bytes]) -> bytes:
    """Lay out a little-endian TIFF: header, IFD0 (pointing at its SubIFDs), the SubIFDs, then the blobs.

    ``blobs`` maps a blob id to its bytes; a tag value ``("blob", id)`` becomes that blob's offset,
    ``("blobsize", id)`` its length. Blobs are word-aligned.
    """
    ifds = [ifd0, *sub_ifds]
    if sub_ifds:
        ifd0.set(0x014A, "I", [0] * len(sub_ifds))  # SubIFDs; patched below

    def encoded(ifd: _Ifd) -> list[tuple[int, int, int, bytes]]:
        out = []
        for tag in sorted(ifd.tags):
            kind, value = ifd.tags[tag]
            if isinstance(value, tuple) and len(value) == 2 and value[0] in ("blob", "blobsize"):
                value = 0 if value[0] == "blob" else len(blobs[value[1]])  # offsets patched below
            code, count, raw = _tiff_value(kind, value)
            out.append((tag, code, count, raw))
        return out

    # First pass: sizes, to know where everything goes.
    layouts = [encoded(ifd) for ifd in ifds]
    pos = 8
    ifd_offsets, extra_offsets = [], []
    for entries in layouts:
        ifd_offsets.append(pos)
        pos += 2 + 12 * len(entries) + 4
        extras = {}
        for tag, _code, _count, raw in entries:
            if len(raw) > 4:
                extras[tag] = pos
                pos += len(raw) + (len(raw) & 1)
        extra_offsets.append(extras)
    blob_offsets = {}
    for blob_id, blob in blobs.items():
        pos += (-pos) % 4
        blob_offsets[blob_id] = pos
        pos += len(blob)

    # Second pass: the real values.
    if sub_ifds:
        ifd0.set(0x014A, "I", ifd_offsets[1:])
    for ifd in ifds:
        for tag, (kind, value) in list(ifd.tags.items()):
            if isinstance(value, tuple) and len(value) == 2 and value[0] == "blob":
                ifd.tags[tag] = (kind, blob_offsets[value[1]])
    layouts = [encoded(ifd) for ifd in ifds]
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    for n, entries in enumerate(layouts):
        assert len(out) == ifd_offsets[n]
        out += struct.pack("<H", len(entries))
        for tag, code, count, raw in entries:
            if len(raw) > 4:
                out += struct.pack("<HHII", tag, code, count, extra_offsets[n][tag])
            else:
                out += struct.pack("<HHI", tag, code, count) + raw.ljust(4, b"\0")
        out += struct.pack("<I", 0)
        for _tag, _code, _count, raw in entries:
            if len(raw) > 4:
                out += raw + (b"\0" if len(raw) & 1 else b"")
    for blob_id, blob in blobs.items():
        out += b"\0" * (blob_offsets[blob_id] - len(out))
        out += blob
    return bytes(out)


def bayer_mosaic(stored: Image.Image, rng: np.random.Generator | None = None, white: int = 4095,
                 black: int = 128) -> np.ndarray:
    """The RGGB sensor readout (uint16) of an RGB picture: linear light, black level, a little noise."""
    arr = np.asarray(stored.convert("RGB"), dtype=np.float32) / 255.0
    linear = np.where(arr <= 0.04045, arr / 12.92, ((arr + 0.055) / 1.055) ** 2.4)
    h, w = linear.shape[:2]
    h, w = h - h % 2, w - w % 2
    mosaic = np.empty((h, w), dtype=np.float32)
    mosaic[0::2, 0::2] = linear[0:h:2, 0:w:2, 0]  # R
    mosaic[0::2, 1::2] = linear[0:h:2, 1:w:2, 1]  # G
    mosaic[1::2, 0::2] = linear[1:h:2, 0:w:2, 1]  # G
    mosaic[1::2, 1::2] = linear[1:h:2, 1:w:2, 2]  # B
    scaled = black + mosaic * (white - black)
    if rng is not None:
        scaled += rng.normal(0.0, 2.0, size=scaled.shape).astype(np.float32)
    return np.clip(scaled, 0, white).astype(np.uint16)


def pack_12bit(mosaic: np.ndarray) -> bytes:
    """Two 12-bit samples in three bytes, most significant bits first (as libraw reads packed DNG data)."""
    flat = mosaic.reshape(-1).astype(np.uint16)
    if len(flat) % 2:
        flat = np.append(flat, np.uint16(0))
    a, b = flat[0::2], flat[1::2]
    out = np.empty((len(a), 3), dtype=np.uint8)
    out[:, 0] = a >> 4
    out[:, 1] = ((a & 0xF) << 4) | (b >> 8)
    out[:, 2] = b & 0xFF
    return out.tobytes()


def write_dng(upright: Image.Image, path: str | Path, *, preview: int | None = 0, orientation: int = 1,
              taken: dt.datetime | None = None, rng: np.random.Generator | None = None,
              preview_quality: int = 85) -> Path:
    """Write ``upright`` as a camera DNG stored per ``orientation`` (1, 3, 6, 8).

    ``preview``: the embedded JPEG preview's long side; 0 is full size (what Canon and Nikon embed),
    None is no preview at all (then only IFD0's 256 px thumbnail is there, too small for photosim,
    which must decode the raw data).
    """
    path = Path(path)
    transpose = _STORE_FOR_ORIENTATION[orientation]
    stored = upright.convert("RGB") if transpose is None else upright.convert("RGB").transpose(transpose)
    w, h = stored.size
    w, h = w - w % 2, h - h % 2
    stored = stored.crop((0, 0, w, h))
    stamp = (taken or dt.datetime(2024, 6, 1, 12, 0, 0)).strftime("%Y:%m:%d %H:%M:%S")
    blobs: dict[int, bytes] = {}

    ifd0 = _Ifd()
    small = stored.copy()
    small.thumbnail((256, 256), Image.Resampling.BILINEAR)
    blobs[0] = small.tobytes()
    ifd0.set(0x00FE, "I", 1)  # NewSubFileType: reduced resolution
    ifd0.set(0x0100, "I", small.width)
    ifd0.set(0x0101, "I", small.height)
    ifd0.set(0x0102, "H", [8, 8, 8])
    ifd0.set(0x0103, "H", 1)
    ifd0.set(0x0106, "H", 2)  # RGB
    ifd0.set(0x010F, "A", "PhotosimBench")
    ifd0.set(0x0110, "A", "Synthetic DNG")
    ifd0.set(0x0111, "I", ("blob", 0))
    ifd0.set(0x0112, "H", orientation)
    ifd0.set(0x0115, "H", 3)
    ifd0.set(0x0116, "I", small.height)
    ifd0.set(0x0117, "I", ("blobsize", 0))
    ifd0.set(0x011C, "H", 1)
    ifd0.set(0x0131, "A", "photosim bench/camera_files.py")
    ifd0.set(0x0132, "A", stamp)
    ifd0.set(0xC612, "B", [1, 4, 0, 0])  # DNGVersion
    ifd0.set(0xC613, "B", [1, 1, 0, 0])  # DNGBackwardVersion
    ifd0.set(0xC614, "A", "PhotosimBench Synthetic DNG")  # UniqueCameraModel
    xyz_to_cam = np.linalg.inv(_SRGB_TO_XYZ)
    ifd0.set(0xC621, "SR", [float(v) for v in xyz_to_cam.ravel()])  # ColorMatrix1
    ifd0.set(0xC65A, "H", 21)  # CalibrationIlluminant1: D65
    ifd0.set(0xC628, "R", [1.0, 1.0, 1.0])  # AsShotNeutral

    raw = _Ifd()
    mosaic = bayer_mosaic(stored, rng)
    blobs[1] = pack_12bit(mosaic)  # 12-bit packed: 36 MB at 24 MP, as 12-bit uncompressed raws are
    raw.set(0x00FE, "I", 0)
    raw.set(0x0100, "I", w)
    raw.set(0x0101, "I", h)
    raw.set(0x0102, "H", 12)
    raw.set(0x0103, "H", 1)
    raw.set(0x0106, "H", 32803)  # CFA
    raw.set(0x0111, "I", ("blob", 1))
    raw.set(0x0115, "H", 1)
    raw.set(0x0116, "I", h)
    raw.set(0x0117, "I", ("blobsize", 1))
    raw.set(0x011C, "H", 1)
    raw.set(0x828D, "H", [2, 2])  # CFARepeatPatternDim
    raw.set(0x828E, "B", [0, 1, 1, 2])  # CFAPattern: RGGB
    raw.set(0xC617, "H", 1)  # CFALayout: rectangular
    raw.set(0xC61A, "H", 128)  # BlackLevel
    raw.set(0xC61D, "I", 4095)  # WhiteLevel
    raw.set(0xC61F, "I", [0, 0])  # DefaultCropOrigin
    raw.set(0xC620, "I", [w, h])  # DefaultCropSize
    subs = [raw]

    if preview is not None:
        view = stored if not preview or preview >= max(w, h) else _shrunk(stored, preview)
        buf = io.BytesIO()
        view.save(buf, "JPEG", quality=preview_quality)
        blobs[2] = buf.getvalue()
        prev = _Ifd()
        prev.set(0x00FE, "I", 1)
        prev.set(0x0100, "I", view.width)
        prev.set(0x0101, "I", view.height)
        prev.set(0x0102, "H", [8, 8, 8])
        prev.set(0x0103, "H", 7)  # JPEG
        prev.set(0x0106, "H", 6)  # YCbCr
        prev.set(0x0111, "I", ("blob", 2))
        prev.set(0x0115, "H", 3)
        prev.set(0x0116, "I", view.height)
        prev.set(0x0117, "I", ("blobsize", 2))
        prev.set(0xC71A, "I", 1)  # PreviewColorSpace: sRGB
        subs.append(prev)
    path.write_bytes(_write_tiff(ifd0, subs, blobs))
    return path


def _shrunk(im: Image.Image, long_side: int) -> Image.Image:
    scale = long_side / max(im.size)
    return im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS)


# -- AVIF ---------------------------------------------------------------------------------------------
def write_avif(upright: Image.Image, path: str | Path, *, orientation: int = 1, taken: dt.datetime | None = None,
               quality: int = 75) -> Path:
    """Write ``upright`` as AVIF with Pillow's encoder; the orientation becomes the file's irot/imir."""
    path = Path(path)
    transpose = _STORE_FOR_ORIENTATION[orientation]
    stored = upright.convert("RGB") if transpose is None else upright.convert("RGB").transpose(transpose)
    stored.save(path, "AVIF", quality=quality, speed=8, exif=exif_bytes(taken, orientation))
    return path
