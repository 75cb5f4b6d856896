"""Replacing a file so that a crash at any moment leaves either the old file or the new one.

Write to a temporary file beside the target (same file system), then ``os.replace`` it over the
target: readers never see a half-written file, and a file another process has memory-mapped keeps
its old inode instead of being overwritten in place.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, on any error it is removed.

    Temporary files are named ``<target name>.<random>.tmp``, so a writer can find and delete the ones
    a killed process left behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> None:
    """Delete the temporary files (:func:`replacing`'s ``<name>.<random>.tmp``) that processes killed
    before their rename left in ``folder``. Only for the folder's single writer, which no other
    process is writing beside."""
    for stale in Path(folder).glob("*.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


def fsync_file(path: str | os.PathLike[str]) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
