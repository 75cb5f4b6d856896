"""Moving files to the system trash, and back.

photosim never deletes a photo: the duplicate clean-up moves files to the trash with ``send2trash``
(the platform's own trash: the Recycle Bin, the macOS Trash, the freedesktop trash on Linux), and
an undo puts them back where the platform lets us find them.

On Linux and the other freedesktop systems the trash is a folder: ``$XDG_DATA_HOME/Trash`` for files
on the home's drive (``files/`` holds the file, ``info/NAME.trashinfo`` its original path and the
time), ``.Trash/$UID`` or ``.Trash-$UID`` at the top of other drives. send2trash reads
``XDG_DATA_HOME`` once, when it is first imported; here the home trash is worked out at each call
(tests and portable setups point ``XDG_DATA_HOME`` somewhere else) and send2trash's own mover
writes the file and its info record. Elsewhere the file goes through ``send2trash.send2trash``, and
an undo asks the user to restore it from the trash by hand (neither the Recycle Bin nor the macOS
Trash tells a program where a file went without platform APIs photosim does not carry).
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from dataclasses import dataclass
from urllib.parse import unquote


class TrashError(Exception):
    """A file could not be moved to the trash, or back; ``str()`` is one line for the user."""


@dataclass(frozen=True)
class Trashed:
    """Where a file went: ``location`` is the file inside the trash (None where it cannot be known)."""

    original: str
    location: str | None
    info: str | None


FREEDESKTOP = not (sys.platform == "darwin" or sys.platform.startswith("win"))


def home_trash() -> str:
    """The home trash folder, read from the environment now (``$XDG_DATA_HOME/Trash``)."""
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(os.path.abspath(data_home), "Trash")


def move_to_trash(path: str) -> Trashed:
    """Move one file to the trash; raise TrashError with the reason when it cannot be done."""
    if not os.path.lexists(path):
        raise TrashError(f"no such file: {path}")
    try:
        if FREEDESKTOP:
            return _freedesktop_trash(path)
        import send2trash

        send2trash.send2trash(path)
        return Trashed(path, None, None)
    except TrashError:
        raise
    except Exception as exc:
        raise TrashError(f"cannot move {path} to the trash: {exc}") from None


def _freedesktop_trash(path: str) -> Trashed:
    from send2trash import plat_other

    original = os.path.abspath(path)
    path_b = os.fsencode(original)
    trash = home_trash()
    data_home = os.path.dirname(trash)
    os.makedirs(data_home, exist_ok=True)
    if os.lstat(path_b).st_dev == os.stat(data_home).st_dev:
        trashes, topdir = [trash], data_home
        before = _entries(trashes, original)
        plat_other.trash_move(path_b, os.fsencode(trash), os.fsencode(data_home))
    else:  # another drive: send2trash finds (or makes) that drive's own trash
        import send2trash

        topdir = os.fsdecode(plat_other.find_mount_point(path_b))
        uid = os.getuid()
        trashes = [os.path.join(topdir, ".Trash", str(uid)), os.path.join(topdir, f".Trash-{uid}"), trash]
        before = _entries(trashes, original)
        send2trash.send2trash(path)
    for info in sorted(_entries(trashes, original) - before):
        home = os.path.dirname(os.path.dirname(info)) == trash
        recorded, _when = read_trashinfo(info, data_home if home else topdir)
        location = os.path.join(os.path.dirname(os.path.dirname(info)), "files", os.path.basename(info)[: -len(".trashinfo")])
        if recorded == original and os.path.lexists(location):
            return Trashed(original, location, info)
    return Trashed(original, None, None)


def _entries(trashes: list[str], original: str) -> set[str]:
    """Info records in these trash folders that could be ``original``'s (its name, maybe numbered)."""
    base, ext = os.path.splitext(os.path.basename(original))
    out: set[str] = set()
    for trash in trashes:
        info_dir = os.path.join(trash, "info")
        out.update(glob.glob(os.path.join(glob.escape(info_dir), glob.escape(base) + "*" + glob.escape(ext) + ".trashinfo")))
    return out


def read_trashinfo(info: str, topdir: str) -> tuple[str | None, str]:
    """(original path, deletion date text) from a ``.trashinfo`` record; relative paths are below ``topdir``."""
    original, when = None, ""
    try:
        with open(info, encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                if line.startswith("Path="):
                    raw = unquote(line[5:].rstrip("\n"), errors="surrogateescape")
                    original = raw if os.path.isabs(raw) else os.path.join(topdir, raw)
                elif line.startswith("DeletionDate="):
                    when = line[13:].strip()
    except OSError:
        return None, ""
    return original, when


def restore(trashed: Trashed) -> str:
    """Put a trashed file back where it was; returns its path. Refuses to overwrite a file that has
    taken its place, and says how to restore by hand where the trash cannot be read."""
    if trashed.location is None:
        raise TrashError(f"restore {os.path.basename(trashed.original)} from the system trash by hand "
                         "(this system does not tell photosim where the trash keeps it)")
    if not os.path.lexists(trashed.location):
        raise TrashError(f"{os.path.basename(trashed.original)} is no longer in the trash (was it emptied?)")
    if os.path.lexists(trashed.original):
        raise TrashError(f"cannot put {trashed.original} back: another file is there now")
    os.makedirs(os.path.dirname(trashed.original), exist_ok=True)
    try:
        os.rename(trashed.location, trashed.original)
    except OSError:
        try:
            shutil.move(trashed.location, trashed.original)
        except OSError as exc:
            raise TrashError(f"cannot put {trashed.original} back: {exc.strerror or exc}") from None
    if trashed.info:
        try:
            os.unlink(trashed.info)
        except OSError:
            pass
    return trashed.original
