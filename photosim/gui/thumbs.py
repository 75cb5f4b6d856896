"""Thumbnails for the grid: rendered off the GUI thread, kept in an LRU memory cache.

Calibre's recipe: the delegate asks for a thumbnail while painting; a miss queues the photo (most
recently painted first, so scrolling fast renders what is on screen now, not what flew past) and the
delegate paints a placeholder. Pool threads read the on-disk cache (or decode the photo once) and
produce a ``QImage``, the only image class that may be made outside the GUI thread; the GUI thread turns
it into a ``QPixmap``, stores it and repaints that one cell.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict

from PIL import Image
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from ..core.images import ImageLoadError
from ..core.service import lower_thread_priority
from ..core.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)

THUMBNAIL_NICENESS = 5
"""Rendering thumbnails is less urgent than handling input (a placeholder shows meanwhile)."""

MAX_QUEUED = 512
"""Older requests than this are dropped: they scrolled out of view long ago and will be asked again."""

BROKEN_RETRY_S = 30.0
"""A thumbnail that could not be made is tried again when painted this long after: the drive of an
offline folder comes back, a file that a sync was still writing is complete (a failure was kept for
the app's whole life before, so a folder back online showed "cannot show" until a restart)."""
NOT_FOUND = "not found"
CANNOT_SHOW = "cannot show"


def pil_to_qimage(image: Image.Image) -> QImage:
    """An RGB PIL image as a QImage that owns its pixels (safe to use after ``image`` is gone)."""
    image = image.convert("RGB")
    data = image.tobytes("raw", "RGB")
    qimage = QImage(data, image.width, image.height, image.width * 3, QImage.Format.Format_RGB888)
    return qimage.copy()


class _Request:
    __slots__ = ("photo_id", "path", "size", "mtime_ns")

    def __init__(self, photo_id: int, path: str, size: int, mtime_ns: int) -> None:
        self.photo_id = photo_id
        self.path = path
        self.size = size
        self.mtime_ns = mtime_ns


class _Drain(QRunnable):
    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        self.loader._work()


class ThumbnailLoader(QObject):
    """Gives the delegate a pixmap for a photo, or None while one is being made.

    Signals:
        loaded(int): the thumbnail of this photo id is now in the memory cache (or failed: see
            :meth:`broken_text`).
    """

    loaded = Signal(int)
    _rendered = Signal(int, int, object)

    def __init__(self, cache: ThumbnailCache, *, capacity: int = 1200, threads: int | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.capacity = capacity
        self.pixels = 160
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._broken: dict[int, tuple[float, str]] = {}  # photo id -> (when it failed, why)
        self._queue: OrderedDict[int, _Request] = OrderedDict()  # last = most recent = rendered first
        self._lock = threading.Lock()
        self._generation = 0
        self._running = 0
        # All cores but one: the GUI thread needs a core of its own to stay smooth while thumbnails render.
        self._threads = threads or max(1, min(4, (os.cpu_count() or 2) - 1))
        self._closed = False
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(self._threads)
        self._rendered.connect(self._store)

    def set_pixels(self, pixels: int) -> None:
        """Change the cell size: cached pixmaps are dropped (the disk cache makes them again quickly)."""
        if pixels == self.pixels:
            return
        with self._lock:
            self.pixels = pixels
            self._generation += 1
            self._queue.clear()
        self._pixmaps.clear()

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._queue.clear()
        self._pixmaps.clear()
        self._broken.clear()

    def is_broken(self, photo_id: int) -> bool:
        return photo_id in self._broken

    def broken_text(self, photo_id: int) -> str | None:
        """Why the photo's thumbnail could not be made ("not found": the file is gone or its folder
        offline; "cannot show": it could not be read), or None."""
        failed = self._broken.get(photo_id)
        return failed[1] if failed is not None else None

    def pixmap(self, photo_id: int, path: str, size: int, mtime_ns: int) -> QPixmap | None:
        pix = self._pixmaps.get(photo_id)
        if pix is not None:
            self._pixmaps.move_to_end(photo_id)
            return pix
        failed = self._broken.get(photo_id)
        if failed is None or time.monotonic() - failed[0] >= BROKEN_RETRY_S:
            self._request(_Request(photo_id, path, size, mtime_ns))
        return None

    def forget(self, photo_id: int) -> None:
        """Drop a photo's pixmap (its file changed)."""
        self._pixmaps.pop(photo_id, None)
        self._broken.pop(photo_id, None)

    def _request(self, request: _Request) -> None:
        with self._lock:
            if self._closed:
                return
            self._queue[request.photo_id] = request
            self._queue.move_to_end(request.photo_id)
            while len(self._queue) > MAX_QUEUED:
                self._queue.popitem(last=False)
            start = self._running < self._threads
            if start:
                self._running += 1
        if start:
            self.pool.start(_Drain(self))

    def _work(self) -> None:
        lower_thread_priority(THUMBNAIL_NICENESS)
        while True:
            with self._lock:
                if not self._queue or self._closed:
                    self._running -= 1
                    return
                _, request = self._queue.popitem(last=True)
                generation = self._generation
                pixels = self.pixels
            try:
                image = self.cache.get(request.path, request.size, request.mtime_ns)
                qimage = pil_to_qimage(image)
                if max(qimage.width(), qimage.height()) > pixels:
                    qimage = qimage.scaled(pixels, pixels, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation)
                result: QImage | str = qimage
            except ImageLoadError:
                result = CANNOT_SHOW if os.path.exists(request.path) else NOT_FOUND
            except Exception:
                log.exception("thumbnail of %s failed", request.path)
                result = CANNOT_SHOW
            self._rendered.emit(request.photo_id, generation, result)

    @Slot(int, int, object)
    def _store(self, photo_id: int, generation: int, image: QImage | str) -> None:
        if generation != self._generation:
            return
        if isinstance(image, str):
            self._broken[photo_id] = (time.monotonic(), image)
        else:
            self._broken.pop(photo_id, None)
            self._pixmaps[photo_id] = QPixmap.fromImage(image)
            while len(self._pixmaps) > self.capacity:
                self._pixmaps.popitem(last=False)
        self.loaded.emit(photo_id)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            self._queue.clear()
        self.pool.waitForDone(5000)
