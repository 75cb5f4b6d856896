"""Finding the photos in a folder tree.

Only image files (by extension; the decoder later checks the content) are reported. Hidden files and
folders, and the system and tool folders that litter photo drives (recycle bins, NAS thumbnail
folders, macOS resource forks) are skipped. Symlinked folders are followed once: a set of visited
(device, inode) pairs survives symlink loops. Unreadable folders are reported and skipped.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .images import is_image_name
from .paths import is_within

SKIPPED_FOLDER_NAMES = frozenset(
    {
        "$recycle.bin", "system volume information", "@eadir", "#recycle", "#snapshot", "__macosx",
        "lost+found", ".trash", ".trashes", ".thumbnails", ".spotlight-v100", ".fseventsd",
        "node_modules", "__pycache__",
    }
)

_HIDDEN_FLAGS = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2) | getattr(stat, "FILE_ATTRIBUTE_SYSTEM", 4)


@dataclass(frozen=True)
class ScannedFile:
    path: str
    size: int
    mtime_ns: int


def _skipped_name(name: str, *, folder: bool) -> bool:
    """The rule by name, for a scan and for single paths alike: hidden names, and the system folders."""
    return name.startswith(".") or (folder and name.lower() in SKIPPED_FOLDER_NAMES)


def _is_hidden(entry: os.DirEntry[str]) -> bool:
    if _skipped_name(entry.name, folder=False):
        return True
    if os.name == "nt":
        try:
            return bool(entry.stat(follow_symlinks=False).st_file_attributes & _HIDDEN_FLAGS)  # type: ignore[attr-defined]
        except OSError:
            return False
    return False


def skipped_below(path: str, root: str) -> bool:
    """True when ``path``, inside the watched folder ``root``, lies in a folder a scan of ``root`` never
    enters (hidden, such as ``.cache`` or ``.Trash-1000``, or one of :data:`SKIPPED_FOLDER_NAMES`) or is
    a hidden file itself.

    The watcher and a partial scan see paths one by one, not by walking down from the root, so they
    ask this. Found trying the app on a library that watched a home folder: photosim's own thumbnail
    cache (``~/.cache/photosim``) was indexed as it was written, each new thumbnail a new photo.
    """
    if not is_within(path, root) or path == root:
        return False
    *folders, name = os.path.relpath(path, root).split(os.sep)
    return _skipped_name(name, folder=False) or any(_skipped_name(part, folder=True) for part in folders)


def scan_folder(
    root: str,
    *,
    excluded: Sequence[str] = (),
    on_error: Callable[[str, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[ScannedFile]:
    """Yield every photo file below ``root`` (a normalised absolute path)."""
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        if should_stop is not None and should_stop():
            return
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError as exc:
            if on_error:
                on_error(folder, f"cannot open folder: {exc.strerror or exc}")
            continue
        ident = (st.st_dev, st.st_ino)
        if ident in visited:
            continue
        visited.add(ident)
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            if on_error:
                on_error(folder, f"cannot list folder: {exc.strerror or exc}")
            continue
        subfolders = []
        for entry in entries:
            try:
                if _is_hidden(entry):
                    continue
                if entry.is_dir(follow_symlinks=True):
                    if _skipped_name(entry.name, folder=True):
                        continue
                    if any(is_within(entry.path, ex) for ex in excluded):
                        continue
                    subfolders.append(entry.path)
                elif is_image_name(entry.name) and entry.is_file(follow_symlinks=True):
                    est = entry.stat(follow_symlinks=True)
                    yield ScannedFile(entry.path, est.st_size, est.st_mtime_ns)
            except OSError:
                continue  # vanished or dangling symlink: nothing to index
        stack.extend(sorted(subfolders, reverse=True))
