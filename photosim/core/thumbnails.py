"""The on-disk thumbnail cache.

Decoding a 12-megapixel JPEG for a 160-pixel cell costs tens of milliseconds; reading a small cached
JPEG costs about one. A thumbnail is made from the smallest picture that still covers it: a JPEG at a
reduced DCT scale, a HEIC's embedded thumbnail (iPhones embed 320x240: exactly the cache size) and a
RAW file's embedded preview, so a folder of phone or camera files fills the grid without decoding
12 MP of HEVC tiles or demosaicing sensor data per cell. Thumbnails are stored once, at the largest size the grid shows, under a key made
of the photo's path, file size and modification time: an edited photo gets a new key (its stale
thumbnail is never shown), and nothing needs to be invalidated by hand. Produces PIL images and is
safe to call from several threads (writes go through a temporary file and a rename).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from .atomic import replacing
from .images import decode

log = logging.getLogger(__name__)

THUMB_PIXELS = 320
"""Long side of a stored thumbnail; the grid's largest zoom level."""

CACHE_VERSION = 1

PRUNE_EVERY = 24 * 3600.0
"""Seconds between two prunings of the cache (:meth:`ThumbnailCache.prune`), kept across restarts by
the mtime of a stamp file in the cache folder."""


class ThumbnailCache:
    """Thumbnails of library photos, made on first use and then read back from disk."""

    def __init__(self, cache_dir: str | os.PathLike[str], pixels: int = THUMB_PIXELS) -> None:
        self.root = Path(cache_dir) / f"thumbnails-v{CACHE_VERSION}-{pixels}"
        self.pixels = pixels

    def key(self, path: str, size: int, mtime_ns: int) -> str:
        raw = f"{path}\0{size}\0{mtime_ns}".encode("utf-8", "surrogatepass")
        return hashlib.blake2b(raw, digest_size=16).hexdigest()

    def file_for(self, path: str, size: int, mtime_ns: int) -> Path:
        key = self.key(path, size, mtime_ns)
        return self.root / key[:2] / f"{key}.jpg"

    def get(self, path: str, size: int | None = None, mtime_ns: int | None = None) -> Image.Image:
        """The thumbnail of ``path`` as an RGB image; raises ImageLoadError for files that cannot decode.

        ``size`` and ``mtime_ns`` default to the file's current ones (a stat call).
        """
        if size is None or mtime_ns is None:
            try:
                st = os.stat(path)
            except OSError:
                from .images import ImageLoadError

                raise ImageLoadError("file vanished before it could be read") from None
            size, mtime_ns = st.st_size, st.st_mtime_ns
        cached = self.file_for(path, size, mtime_ns)
        try:
            with Image.open(cached) as im:
                im.load()
                return im.convert("RGB")
        except FileNotFoundError:
            pass
        except Exception as exc:  # a damaged cache file is just made again
            log.debug("thumbnail cache file %s unreadable (%s); remaking it", cached, exc)
        image = decode(path, min_long_side=self.pixels)  # the long side is what fills a square cell
        image.thumbnail((self.pixels, self.pixels), Image.Resampling.LANCZOS)
        self._store(cached, image)
        return image

    def _store(self, target: Path, image: Image.Image) -> None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with replacing(target) as tmp:
                image.save(tmp, "JPEG", quality=85)
        except OSError as exc:  # a full or read-only cache disk only costs speed
            log.warning("cannot write thumbnail cache %s: %s", target, exc)

    def disk_usage(self) -> int:
        total = 0
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.path.getsize(os.path.join(folder, name))
                except OSError:
                    pass
        return total

    # -- pruning ----------------------------------------------------------------------------------
    @property
    def _stamp(self) -> Path:
        return self.root / "last-pruned"

    def prune_due(self, every: float = PRUNE_EVERY) -> bool:
        """Whether the cache was last pruned more than ``every`` seconds ago (or never)."""
        try:
            return time.time() - self._stamp.stat().st_mtime >= every
        except OSError:
            return True

    def prune(self, live: Iterable[tuple[str, int, int]], *, older_than: float = 3600.0) -> tuple[int, int]:
        """Delete the thumbnails no library photo has any more; returns (files, bytes) removed.

        A thumbnail's key is its photo's path, size and modification time, so every edited, moved or
        deleted photo left its old thumbnail behind for good, and the cache grew beside a phone sync
        for as long as the app ran. ``live``: the (path, size, mtime_ns) of every photo of the library.
        Files younger than ``older_than`` seconds stay (a photo indexed since ``live`` was read), and
        so do the stamp and anything outside the cache's own sub-folders; temporary files a killed
        writer left behind go.
        """
        keep = {self.key(path, size, mtime_ns) for path, size, mtime_ns in live}
        cutoff = time.time() - older_than
        removed = freed = 0
        try:
            subfolders = [e for e in os.scandir(self.root) if e.is_dir(follow_symlinks=False)]
        except OSError:
            subfolders = []
        for sub in subfolders:
            try:
                entries = list(os.scandir(sub.path))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                if name.endswith(".jpg") and name[:-4] in keep:
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                    if st.st_mtime > cutoff:
                        continue
                    os.unlink(entry.path)
                except OSError:
                    continue
                removed += 1
                freed += st.st_size
        self._mark_pruned()
        return removed, freed

    def _mark_pruned(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._stamp.touch()
        except OSError as exc:
            log.warning("cannot write %s: %s", self._stamp, exc)
