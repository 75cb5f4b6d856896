"""Just enough of the HEIF container (ISO/IEC 23008-12) to find and use the thumbnail phones embed.

Why photosim reads the boxes itself: an iPhone HEIC holds a 4032x3024 photo as 48 HEVC tiles (about
450 ms of one core to decode here) and a 320x240 HEVC thumbnail of it (about 2 ms). The model needs
224 px, so the thumbnail is all it needs. ``pi-heif``, the decode-only binding photosim ships, has no
API for thumbnails (``pillow-heif`` has one, but it carries the GPL x265 encoder, and its own
thumbnail choice refuses a thumbnail whose rotation differs from the primary image's, which is every
portrait iPhone photo). So photosim parses the container here and hands libheif a copy of the file
in which the thumbnail is the primary image: two same-length patches (the ``pitm`` item id, and the
``thmb`` reference renamed so libheif no longer hides the item as a thumbnail). No offset moves, so
the copy is as valid as the original; whatever libheif decodes is a real HEVC image of the file.

Orientation: HEIF rotates and mirrors with ``irot`` / ``imir`` properties of each image item (EXIF
orientation inside a HEIF is informative only and is never applied). iOS puts them on the primary
image only: its thumbnail is stored like the primary's coded pixels and is meant to be shown with the
primary's transformations (libheif issue 548). Other writers (libheif's own encoder) give the
thumbnail the same transformations as the primary. :func:`choose_thumbnail` accepts both and says
which transformations photosim must still apply itself; a thumbnail with other transformations of
its own, or whose shape does not match the photo's, is not used (the full decode is, which is always
right).

Nothing here decodes pixels or imports a HEIF library; every function is safe on arbitrary bytes
(malformed input gives ``None``, never an exception).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

#: HEVC-coded image items libheif decodes with libde265 (the only decoder pi-heif ships).
DECODABLE_ITEM_TYPES = frozenset({"hvc1", "grid"})

#: A thumbnail's shape may differ from the photo's by this share (rounding of odd sizes) and no more.
ASPECT_TOLERANCE = 0.02

_HEIF_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs", "mif1", "msf1"})


class _Malformed(ValueError):
    """A box that runs past its parent's end, or a count that does not fit."""


@dataclass(frozen=True)
class Transform:
    """One transformative property: ``irot`` (angle: 90-degree steps counter-clockwise), ``imir``
    (as libheif reads it: 0 swaps top and bottom, 1 left and right) or ``clap`` (a crop; only its size
    matters here)."""

    kind: str
    value: int = 0
    crop: tuple[float, float] | None = None


@dataclass
class Property:
    kind: str
    #: ``ispe``: (width, height); ``irot``/``imir``/``clap``: a Transform.
    size: tuple[int, int] | None = None
    transform: Transform | None = None


@dataclass
class Association:
    """One property association of an item in ``ipma``: where its bytes are, for the test-file writers."""

    index: int  # 1-based into ``ipco``; 0 means none
    essential: bool
    offset: int  # of the association entry in the file
    width: int  # 1 or 2 bytes


@dataclass
class Item:
    item_id: int
    item_type: str = ""
    associations: list[Association] = field(default_factory=list)
    #: Images this item is a thumbnail of (its ``thmb`` references).
    thumbnail_of: list[int] = field(default_factory=list)
    #: Offset of the type code of this item's ``thmb`` reference box in the file.
    thmb_type_offset: int | None = None


@dataclass
class HeifLayout:
    """The parts of a HEIF file's ``meta`` box that the thumbnail path needs."""

    major_brand: str
    primary_id: int
    pitm_offset: int  # of the primary item id inside ``pitm``
    pitm_width: int  # 2 or 4 bytes
    items: dict[int, Item]
    properties: list[Property]

    def props(self, item_id: int) -> list[Property]:
        item = self.items.get(item_id)
        if item is None:
            return []
        return [self.properties[a.index - 1] for a in item.associations if 0 < a.index <= len(self.properties)]

    def size(self, item_id: int) -> tuple[int, int] | None:
        """The coded size (``ispe``) of an item, before its transformations."""
        for prop in self.props(item_id):
            if prop.kind == "ispe":
                return prop.size
        return None

    def transforms(self, item_id: int) -> list[Transform]:
        return [p.transform for p in self.props(item_id) if p.transform is not None]

    def thumbnails(self, item_id: int) -> list[int]:
        return [i.item_id for i in self.items.values() if item_id in i.thumbnail_of]


def is_heif(data: bytes) -> bool:
    """An ISOBMFF file whose brands say HEIF with HEVC (not AVIF, not a Canon CR3 or a video)."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    size = struct.unpack_from(">I", data, 0)[0]
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, min(size, len(data), 256) - 3, 4)}
    names = {b.decode("latin-1") for b in brands}
    if "avif" in names or "avis" in names or "crx " in names:
        return False
    return bool(names & _HEIF_BRANDS)


def iter_boxes(data: bytes, start: int, end: int) -> Iterator[tuple[str, int, int, int]]:
    """(type, box start, payload start, box end) for each box in ``data[start:end]``; raises on a box that
    runs past ``end`` (callers turn that into "not a usable file")."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise _Malformed
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise _Malformed
        yield kind.decode("latin-1"), pos, pos + header, pos + size
        pos += size


def is_truncated(data: bytes) -> bool:
    """Whether a top-level box of an ISOBMFF file runs past the end of the data (a cut-off copy)."""
    pos = 0
    while pos + 8 <= len(data):
        size = struct.unpack_from(">I", data, pos)[0]
        if size == 1 and pos + 16 <= len(data):
            size = struct.unpack_from(">Q", data, pos + 8)[0]
        elif size == 0:
            return False
        if size < 8:
            return False  # malformed, not cut off
        if pos + size > len(data):
            return True
        pos += size
    return False


def parse_heif(data: bytes) -> HeifLayout | None:
    """The item structure of a HEIF file, or None when it is not one or is malformed."""
    if not is_heif(data):
        return None
    try:
        return _parse(data)
    except (_Malformed, struct.error, IndexError, ValueError, UnicodeDecodeError):
        return None


def _parse(data: bytes) -> HeifLayout | None:
    major = data[8:12].decode("latin-1")
    meta = next(((s, e) for kind, _b, s, e in iter_boxes(data, 0, len(data)) if kind == "meta"), None)
    if meta is None:
        return None
    items: dict[int, Item] = {}
    properties: list[Property] = []
    pitm: tuple[int, int, int] | None = None
    handler_ok = False
    for kind, _box, start, end in iter_boxes(data, meta[0] + 4, meta[1]):  # meta is a full box
        version = data[start]
        if kind == "hdlr":
            handler_ok = data[start + 8 : start + 12] == b"pict"
        elif kind == "pitm":
            width = 2 if version == 0 else 4
            item_id = int.from_bytes(data[start + 4 : start + 4 + width], "big")
            pitm = (item_id, start + 4, width)
        elif kind == "iinf":
            first = start + (6 if version == 0 else 8)
            for ekind, _eb, es, _ee in iter_boxes(data, first, end):
                if ekind != "infe":
                    continue
                ev = data[es]
                if ev < 2:
                    continue
                if ev == 2:
                    item_id = struct.unpack_from(">H", data, es + 4)[0]
                    type_at = es + 8
                else:
                    item_id = struct.unpack_from(">I", data, es + 4)[0]
                    type_at = es + 10
                item = items.setdefault(item_id, Item(item_id))
                item.item_type = data[type_at : type_at + 4].decode("latin-1")
        elif kind == "iref":
            id_fmt, id_size = (">H", 2) if version == 0 else (">I", 4)
            for rkind, rbox, rs, re_ in iter_boxes(data, start + 4, end):
                from_id = struct.unpack_from(id_fmt, data, rs)[0]
                count = struct.unpack_from(">H", data, rs + id_size)[0]
                if rs + id_size + 2 + count * id_size > re_:
                    raise _Malformed
                if rkind == "thmb":
                    to_ids = [struct.unpack_from(id_fmt, data, rs + id_size + 2 + n * id_size)[0] for n in range(count)]
                    item = items.setdefault(from_id, Item(from_id))
                    item.thumbnail_of.extend(to_ids)
                    item.thmb_type_offset = rbox + 4
        elif kind == "iprp":
            for pkind, _pb, ps, pe in iter_boxes(data, start, end):
                if pkind == "ipco":
                    properties = [_property(data, k, s, e) for k, _b, s, e in iter_boxes(data, ps, pe)]
                elif pkind == "ipma":
                    _associations(data, ps, pe, items)
    if pitm is None or not handler_ok:
        return None
    return HeifLayout(major, pitm[0], pitm[1], pitm[2], items, properties)


def _property(data: bytes, kind: str, start: int, end: int) -> Property:
    if kind == "ispe" and end - start >= 12:
        width, height = struct.unpack_from(">II", data, start + 4)
        return Property(kind, size=(width, height))
    if kind == "irot" and end - start >= 1:
        return Property(kind, transform=Transform("irot", data[start] & 3))
    if kind == "imir" and end - start >= 1:
        return Property(kind, transform=Transform("imir", data[start] & 1))
    if kind == "clap" and end - start >= 32:
        wn, wd, hn, hd = struct.unpack_from(">IIII", data, start)
        if wd and hd:
            return Property(kind, transform=Transform("clap", crop=(wn / wd, hn / hd)))
    return Property(kind)


def _associations(data: bytes, start: int, end: int, items: dict[int, Item]) -> None:
    version, flags = data[start], int.from_bytes(data[start + 1 : start + 4], "big")
    pos = start + 4
    count = struct.unpack_from(">I", data, pos)[0]
    pos += 4
    wide = bool(flags & 1)
    for _ in range(count):
        if version < 1:
            item_id = struct.unpack_from(">H", data, pos)[0]
            pos += 2
        else:
            item_id = struct.unpack_from(">I", data, pos)[0]
            pos += 4
        n = data[pos]
        pos += 1
        item = items.setdefault(item_id, Item(item_id))
        for _ in range(n):
            if pos >= end:
                raise _Malformed
            if wide:
                value = struct.unpack_from(">H", data, pos)[0]
                item.associations.append(Association(value & 0x7FFF, bool(value >> 15), pos, 2))
                pos += 2
            else:
                value = data[pos]
                item.associations.append(Association(value & 0x7F, bool(value >> 7), pos, 1))
                pos += 1


# -- choosing and extracting a thumbnail ----------------------------------------------------------------
def _orientation(transforms: list[Transform]) -> list[Transform]:
    return [t for t in transforms if t.kind in ("irot", "imir")]


def displayed_size(size: tuple[int, int], transforms: list[Transform]) -> tuple[float, float]:
    """A coded size after the transformations, in their order (crop, quarter turns)."""
    w, h = float(size[0]), float(size[1])
    for t in transforms:
        if t.kind == "clap" and t.crop is not None:
            w, h = t.crop
        elif t.kind == "irot" and t.value % 2:
            w, h = h, w
    return w, h


@dataclass(frozen=True)
class ThumbnailPlan:
    """Which thumbnail item to decode and which transformations photosim applies to it afterwards."""

    item_id: int
    #: The primary's rotations / mirrors, for a thumbnail stored without its own (the iOS way); empty
    #: when libheif applies the thumbnail's own (the same as the primary's).
    apply: tuple[Transform, ...]
    size: tuple[int, int]  # displayed, after all transformations
    photo_size: tuple[int, int]  # the primary's, displayed


def choose_thumbnail(layout: HeifLayout, min_side: int, min_long_side: int = 0) -> ThumbnailPlan | None:
    """The smallest usable thumbnail whose short side is >= ``min_side`` and long side >= ``min_long_side``.

    Usable: HEVC-coded, a thumbnail of the primary image, the same shape as the photo, and either
    the primary's rotations and mirrors or none of its own (then they are applied to it after
    decoding). None when there is no such thumbnail: the caller decodes the photo itself.
    """
    primary = layout.primary_id
    psize = layout.size(primary)
    if psize is None or layout.pitm_width not in (2, 4):
        return None
    p_transforms = layout.transforms(primary)
    pw, ph = displayed_size(psize, p_transforms)
    if pw <= 0 or ph <= 0:
        return None
    p_orient = _orientation(p_transforms)
    best: ThumbnailPlan | None = None
    for thumb_id in layout.thumbnails(primary):
        item = layout.items[thumb_id]
        tsize = layout.size(thumb_id)
        if item.item_type not in DECODABLE_ITEM_TYPES or tsize is None or item.thmb_type_offset is None:
            continue
        if layout.pitm_width == 2 and thumb_id > 0xFFFF:
            continue
        t_transforms = layout.transforms(thumb_id)
        t_orient = _orientation(t_transforms)
        if t_orient == p_orient:
            extra: tuple[Transform, ...] = ()
        elif not t_orient:
            extra = tuple(p_orient)
        else:
            continue  # rotated differently from the photo: which is right cannot be known
        tw, th = displayed_size(tsize, t_transforms + list(extra))
        if tw <= 0 or th <= 0 or tw * th >= pw * ph:
            continue
        if abs((tw / th) / (pw / ph) - 1.0) > ASPECT_TOLERANCE:
            continue  # a differently shaped thumbnail (black bars, another crop)
        if min(tw, th) < min_side or max(tw, th) < min_long_side:
            continue
        plan = ThumbnailPlan(thumb_id, extra, (round(tw), round(th)), (round(pw), round(ph)))
        if best is None or tw * th < best.size[0] * best.size[1]:
            best = plan
    return best


def with_thumbnail_as_primary(data: bytes, layout: HeifLayout, plan: ThumbnailPlan) -> bytes:
    """A copy of the file in which the planned thumbnail is the primary image (same length, see module doc)."""
    out = bytearray(data)
    out[layout.pitm_offset : layout.pitm_offset + layout.pitm_width] = plan.item_id.to_bytes(layout.pitm_width, "big")
    type_at = layout.items[plan.item_id].thmb_type_offset
    assert type_at is not None and out[type_at : type_at + 4] == b"thmb"
    out[type_at : type_at + 4] = b"xthm"  # an unknown reference type, which readers ignore
    return bytes(out)
