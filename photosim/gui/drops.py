"""Turning what the user drops or pastes into what photosim should do: plain functions tests can call.

A drop or a paste may carry local files (from a file manager), folders, image bytes (a browser
dragging an image out, a screenshot tool), a bitmap on the clipboard, or web links. :func:`intent_for`
reads a ``QMimeData`` and says what it means; the window carries it out.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QSize, Qt, QUrl
from PySide6.QtGui import QImage, QImageIOHandler, QImageReader, QPixmap

from ..core.images import is_image_name


@dataclass(frozen=True)
class QueryFile:
    path: str
    note: str = ""  # e.g. "3 files dropped: searching with the first one"


@dataclass(frozen=True)
class QueryBytes:
    data: bytes
    label: str


@dataclass(frozen=True)
class QueryLink:
    url: str


@dataclass(frozen=True)
class AddFolders:
    paths: list[str]


@dataclass(frozen=True)
class Nothing:
    """Nothing usable; ``message`` says why (empty: say nothing)."""

    message: str = ""


Intent = QueryFile | QueryBytes | QueryLink | AddFolders | Nothing


def local_path(url: QUrl) -> str:
    """A local file URL as the exact path on disk, names that are not valid UTF-8 included.

    ``QUrl.toLocalFile`` decodes percent-escapes as UTF-8 and replaces what does not decode; the bytes
    of the URL itself still name the file exactly.
    """
    encoded = bytes(url.toEncoded().data()).decode("ascii", "replace")
    raw = urllib.parse.unquote_to_bytes(urllib.parse.urlsplit(encoded).path)
    if os.name == "nt":
        return url.toLocalFile()
    return os.fsdecode(raw)


def file_url(path: str) -> QUrl:
    """The URL of a local path, exact for names that are not valid UTF-8 (percent-encoded bytes)."""
    if os.name == "nt":
        return QUrl.fromLocalFile(path)
    return QUrl.fromEncoded(QByteArray(b"file://" + urllib.parse.quote_from_bytes(os.fsencode(path)).encode("ascii")))


def is_web_link(url: QUrl) -> bool:
    return url.scheme().lower() in ("http", "https")


def accepts(mime: QMimeData) -> bool:
    """Whether a drag should be accepted at all (decided before the drop, so it must be cheap)."""
    if mime.hasUrls() and any(u.isLocalFile() or is_web_link(u) for u in mime.urls()):
        return True
    return mime.hasImage() or any(f.startswith("image/") for f in mime.formats())


def intent_for(mime: QMimeData, verb: str = "dropped") -> Intent:
    """What a drop or paste asks for: local image files query, folders are added, bytes and links query."""
    urls = mime.urls() if mime.hasUrls() else []
    local = [local_path(u) for u in urls if u.isLocalFile()]
    files = [p for p in local if os.path.isfile(p)]
    folders = [p for p in local if os.path.isdir(p)]
    if files:
        images = [p for p in files if is_image_name(p)] or files
        first = images[0]
        note = ""
        if len(files) > 1:
            note = f"{len(files)} files {verb}: searching with the first one, {os.path.basename(first)}."
        return QueryFile(first, note)
    if folders:
        return AddFolders(folders)
    for fmt in mime.formats():
        if fmt.startswith("image/"):
            data = bytes(mime.data(fmt).data())
            if data:
                return QueryBytes(data, f"the {verb} image")
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return QueryBytes(image_to_png(image), f"the {verb} image")
    links = [u for u in urls if is_web_link(u)]
    if links:
        return QueryLink(links[0].toString())
    if mime.hasText():
        text = mime.text().strip()
        if text.lower().startswith(("http://", "https://")) and " " not in text and "\n" not in text:
            return QueryLink(text)
    if urls:
        return Nothing("photosim searches with image files, image data or image links: this is none of them.")
    return Nothing()


def image_to_png(image: QImage) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data().data())


def load_preview(source: str | bytes, pixels: int = 176) -> QPixmap:
    """A small, upright preview of a query image (scaled while decoding: cheap even for big JPEGs)."""
    return load_picture(source, pixels)[0]


def load_picture(source: str | bytes, max_side: int) -> tuple[QPixmap, QSize]:
    """An upright picture at most ``max_side`` pixels, and the full upright size it stands for.

    Qt decodes what it can (scaled while decoding); formats Qt has no reader for here (HEIC, AVIF...)
    go through photosim's own decoder. Bytes are read in Python first, so any file name works.
    """
    if isinstance(source, str):
        try:
            with open(source, "rb") as fh:
                source = fh.read(512 * 1024 * 1024)
        except OSError:
            return QPixmap(), QSize()
    buffer = QBuffer()
    buffer.setData(QByteArray(source))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    stored = reader.size()
    if stored.isValid():
        turned = bool(reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90)
        full = stored.transposed() if turned else QSize(stored)
        if max(stored.width(), stored.height()) > max_side:
            reader.setScaledSize(stored.scaled(QSize(max_side, max_side), Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if not image.isNull():
            return QPixmap.fromImage(image), full
    try:
        from ..core.images import ImageLoadError, decode_photo
        from .thumbs import pil_to_qimage

        photo = decode_photo(source, max_side)
    except ImageLoadError:
        return QPixmap(), QSize()
    picture = photo.image
    picture.thumbnail((max_side, max_side))
    return QPixmap.fromImage(pil_to_qimage(picture)), QSize(photo.width, photo.height)
