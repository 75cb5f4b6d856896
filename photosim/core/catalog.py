"""The catalog: the SQLite file that is the library's source of truth.

It holds the watched folders and one row per photo: path, size, mtime, content fingerprint, state
(pending, indexed, failed with its reason), the model that embedded it and the embedding itself
(float16). The vector index is only a cache of these embeddings and can always be rebuilt from here
without running the model again.

Design notes:

* WAL journal, so readers (a search from the CLI, the app's query thread) never block the indexer.
* One :class:`Catalog` is one connection with one owner, who closes it. It is never cached per
  thread: Qt recycles its pool threads, and per-thread connections piled up there (275 open files
  after two minutes of watcher events in the first version). Several threads may share one
  Catalog; a re-entrant lock makes each call, and each transaction, run alone on the connection.
  Threads that should not wait for each other open their own Catalog (:meth:`Catalog.reader`).
* Paths are stored as the exact bytes the file system gave (BLOB): names that are not valid UTF-8
  (Latin-1 names from old Windows drives or Samba shares) round-trip to the very file on disk.
  In Python they are ``str`` with surrogate escapes (``os.fsdecode``), as ``os.scandir`` gives them.
* A photo's id is never reused and never points at a different embedding: when a changed file is
  re-embedded its row is replaced by a new one. The vector index uses these ids as keys, so "is the
  index consistent with the catalog?" is just a comparison of key sets.
* ``PRAGMA user_version`` is the schema version; :data:`MIGRATIONS` upgrades older files in place.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .paths import is_within, normalize_path

PENDING = "pending"
INDEXED = "indexed"
FAILED = "failed"
STATES = (PENDING, INDEXED, FAILED)


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run DDL statements inside the caller's transaction (``executescript`` would commit early)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migration_1(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE folders (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL UNIQUE,
            added_at REAL NOT NULL
        );
        CREATE TABLE photos (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL UNIQUE,
            folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            fingerprint TEXT,
            state TEXT NOT NULL CHECK (state IN ('pending', 'indexed', 'failed')),
            error TEXT,
            model TEXT,
            embedding BLOB,
            width INTEGER,
            height INTEGER,
            taken_at REAL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX photos_fingerprint ON photos(fingerprint);
        CREATE INDEX photos_folder ON photos(folder_id);
        CREATE INDEX photos_state_model ON photos(state, model);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    )


def _migration_2(db: sqlite3.Connection) -> None:
    """Paths become the file system's bytes (BLOB), so names that are not valid UTF-8 can be stored."""
    db.execute("UPDATE folders SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text'")
    db.execute("UPDATE photos SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text'")


def _migration_labels(db: sqlite3.Connection) -> None:
    """What the classifier says about each photo (issue 12), in a table of its own.

    One row per analysed photo: the labels recipe that made it (``model``), its top class
    probabilities (``labels``: uint16 class index + float16 probability pairs, best first; see
    :mod:`photosim.core.tags`), and the camera named in its EXIF. A table beside ``photos`` rather
    than new columns: rows of libraries indexed before it simply have none yet (the backfill finds
    them with one anti-join), and a photo's row goes with it (``ON DELETE CASCADE``) when its file
    is deleted or changed, while a moved photo keeps its id and so its labels.
    """
    _run_script(
        db,
        """
        CREATE TABLE photo_labels (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            labels BLOB NOT NULL,
            camera TEXT,
            updated_at REAL NOT NULL
        );
        CREATE INDEX photo_labels_model ON photo_labels(model);
        """
    )


def _migration_duplicates(db: sqlite3.Connection) -> None:
    """The duplicate finder's tables (photosim/core/duplicates.py): what it measured, what it verified,
    what the user decided, and what the user's clean-up did.

    Everything is keyed by content fingerprint, not by photo id or path, so it survives renames,
    moves and re-indexing: a measure or a verdict is about the pixels, a decision is about photos.
    """
    _run_script(
        db,
        """
        CREATE TABLE photo_facts (
            fingerprint TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            facts TEXT NOT NULL
        );
        CREATE TABLE pair_checks (
            a TEXT NOT NULL,
            b TEXT NOT NULL,
            version INTEGER NOT NULL,
            result TEXT NOT NULL,
            PRIMARY KEY (a, b)
        ) WITHOUT ROWID;
        CREATE TABLE dup_decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('not_duplicates', 'keep_all')),
            tier TEXT NOT NULL,
            members TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE TABLE action_journal (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            batch INTEGER NOT NULL,
            at REAL NOT NULL,
            action TEXT NOT NULL,
            path BLOB,
            target BLOB,
            fingerprint TEXT,
            photo TEXT,
            embedding BLOB,
            decision_id INTEGER,
            undone_at REAL
        );
        CREATE INDEX action_journal_batch ON action_journal(batch)
        """
    )


MIGRATIONS = [_migration_1, _migration_2, _migration_labels, _migration_duplicates]
SCHEMA_VERSION = len(MIGRATIONS)


class CatalogError(Exception):
    """A user-facing problem with the catalog (unknown folder, newer schema...)."""


class CatalogDamagedError(CatalogError):
    """The catalog file is damaged (a disk error, a bad sync): ``photosim check --repair`` brings it back."""


#: SQLite's result codes for a damaged file: SQLITE_CORRUPT and SQLITE_NOTADB.
_CORRUPTION_CODES = {11, 26}


def is_corruption(exc: BaseException) -> bool:
    """True when a sqlite3 error says the database file itself is damaged (not busy, not full)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _CORRUPTION_CODES:
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def encode_path(path: str) -> bytes:
    """A path as stored: the exact bytes of the name on disk."""
    return os.fsencode(path)


def decode_path(value: bytes | str) -> str:
    """A stored path back to Python's ``str`` form (surrogate escapes for undecodable bytes)."""
    return os.fsdecode(value) if isinstance(value, (bytes, bytearray, memoryview)) else value


_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    """Run a Catalog method alone on its connection (the lock is re-entrant: methods call each other)."""

    @functools.wraps(method)
    def wrapper(self: "Catalog", *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


_FOLDER_DEVICE = "folder_device."
"""Meta key prefix (plus the folder's id): its :attr:`Folder.device`, kept out of the schema so that
an older photosim still opens the file."""


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    added_at: float
    device: int | None = None
    """The file system its photos were last found on (see :func:`photosim.core.paths.folder_offline`)."""

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> "Folder":
        device = int(row[3]) if len(row) > 3 and row[3] is not None else None
        return cls(int(row[0]), decode_path(row[1]), float(row[2]), device)


@dataclass(frozen=True)
class PhotoRow:
    id: int
    path: str
    folder_id: int
    size: int
    mtime_ns: int
    fingerprint: str | None
    state: str
    error: str | None
    model: str | None
    width: int | None = None
    height: int | None = None
    taken_at: float | None = None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> "PhotoRow":
        return cls(row[0], decode_path(row[1]), *row[2:])


_PHOTO_COLUMNS = "id, path, folder_id, size, mtime_ns, fingerprint, state, error, model, width, height, taken_at"


def encode_vector(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype=np.float16).tobytes()


def decode_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)


class Catalog:
    """One connection to the catalog file, with one owner who closes it (see the module notes)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._closed = False
        self._migrate()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reader(self) -> "Catalog":
        """A new read-only Catalog on the same file, for a thread that must not wait for this one.

        The caller owns it and closes it.
        """
        return Catalog(self.path, readonly=True)

    # -- the connection ----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self.readonly and not self.path.exists():
            raise CatalogError(f"no library at {self.path.parent} (run 'photosim index FOLDER' first)")
        try:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise self._damaged(exc) from exc
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 30000")
            if not self.readonly:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            db.close()
            if is_corruption(exc):
                raise self._damaged(exc) from exc
            raise
        return db

    def _damaged(self, exc: BaseException) -> CatalogDamagedError:
        return CatalogDamagedError(
            f"the library's catalog is damaged ({exc}); run 'photosim check --repair' to restore it "
            "from a backup and re-scan the folders"
        )

    @property
    def db(self) -> sqlite3.Connection:
        """The connection itself, for the few raw queries outside this class (hold :meth:`locked`)."""
        with self._lock:
            if self._closed:
                raise CatalogError("the catalog is closed")
            if self._db is None:
                self._db = self._connect()
            return self._db

    @contextmanager
    def locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, for raw SQL, with no other thread using it meanwhile."""
        with self._lock:
            yield self.db

    @_locked
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only statement and return every row (raw SQL for tests and small helpers)."""
        return self.db.execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        """Close the connection; the Catalog cannot be used afterwards."""
        with self._lock:
            self._closed = True
            if self._db is not None:
                try:
                    self._db.close()
                except sqlite3.Error:
                    pass
                self._db = None

    @property
    def closed(self) -> bool:
        return self._closed

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write; nested use joins the outer transaction. No other thread runs meanwhile."""
        with self._lock:
            db = self.db
            if db.in_transaction:
                yield db
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    def _migrate(self) -> None:
        try:
            self._migrate_unchecked()
        except sqlite3.DatabaseError as exc:
            if is_corruption(exc):
                self.close()
                raise self._damaged(exc) from exc
            raise

    @_locked
    def _migrate_unchecked(self) -> None:
        if self.readonly:
            if not self.path.exists():
                return
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CatalogError(
                    f"this library was written by a newer photosim (schema {version}, this one knows {SCHEMA_VERSION})"
                )
            if version < SCHEMA_VERSION:
                raise CatalogError("the library needs an upgrade: run 'photosim index' once")
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self.db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"this library was written by a newer photosim (schema {version}, this one knows {SCHEMA_VERSION})"
            )
        for number in range(version, SCHEMA_VERSION):
            with self.transaction():
                MIGRATIONS[number](db)
                db.execute(f"PRAGMA user_version = {number + 1}")

    # -- meta --------------------------------------------------------------------------------
    @_locked
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def delete_meta(self, key: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM meta WHERE key = ?", (key,))

    # -- folders -----------------------------------------------------------------------------
    @_locked
    def folders(self) -> list[Folder]:
        rows = self.db.execute(
            f"SELECT f.id, f.path, f.added_at, m.value FROM folders f"
            f" LEFT JOIN meta m ON m.key = '{_FOLDER_DEVICE}' || f.id ORDER BY f.path"
        ).fetchall()
        return [Folder.from_row(row) for row in rows]

    def set_folder_device(self, folder_id: int, device: int) -> None:
        """Remember the file system a folder's photos were found on (a mount point's drive)."""
        self.set_meta(f"{_FOLDER_DEVICE}{folder_id}", str(device))

    def folder_for(self, path: str) -> Folder | None:
        """The watched folder that contains ``path`` (or is it), if any."""
        for folder in self.folders():
            if is_within(path, folder.path):
                return folder
        return None

    def add_folder(self, path: str) -> tuple[Folder, bool]:
        """Watch a folder. Returns (folder, added). Watching a parent of watched folders absorbs them.

        Folders never nest in the catalog, so every photo belongs to exactly one watched folder.
        """
        path = normalize_path(path)
        with self.transaction() as db:
            for folder in self.folders():
                if is_within(path, folder.path):
                    return folder, False
            cur = db.execute("INSERT INTO folders(path, added_at) VALUES (?, ?)", (encode_path(path), time.time()))
            new_id = int(cur.lastrowid or 0)
            for folder in self.folders():
                if folder.id != new_id and is_within(folder.path, path):
                    db.execute("UPDATE photos SET folder_id = ? WHERE folder_id = ?", (new_id, folder.id))
                    db.execute("DELETE FROM folders WHERE id = ?", (folder.id,))
                    db.execute("DELETE FROM meta WHERE key = ?", (f"{_FOLDER_DEVICE}{folder.id}",))
            row = db.execute("SELECT id, path, added_at FROM folders WHERE id = ?", (new_id,)).fetchone()
        return Folder.from_row(row), True

    def remove_folder(self, path: str) -> list[int]:
        """Stop watching a folder; its photos leave the catalog. Returns the removed photo ids."""
        path = normalize_path(path)
        with self.transaction() as db:
            row = db.execute("SELECT id FROM folders WHERE path = ?", (encode_path(path),)).fetchone()
            if row is None:
                raise CatalogError(f"not a watched folder: {path}")
            ids = [r[0] for r in db.execute("SELECT id FROM photos WHERE folder_id = ?", (row[0],))]
            db.execute("DELETE FROM photos WHERE folder_id = ?", (row[0],))
            db.execute("DELETE FROM folders WHERE id = ?", (row[0],))
            db.execute("DELETE FROM meta WHERE key = ?", (f"{_FOLDER_DEVICE}{row[0]}",))
        return ids

    # -- photos: reading ---------------------------------------------------------------------
    @_locked
    def photos_in_folder(self, folder_id: int) -> dict[str, PhotoRow]:
        rows = self.db.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE folder_id = ?", (folder_id,))
        return {photo.path: photo for photo in map(PhotoRow.from_row, rows)}

    @_locked
    def get(self, photo_id: int) -> PhotoRow | None:
        row = self.db.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id = ?", (int(photo_id),)).fetchone()
        return PhotoRow.from_row(row) if row else None

    @_locked
    def get_many(self, photo_ids: Sequence[int]) -> dict[int, PhotoRow]:
        out: dict[int, PhotoRow] = {}
        ids = [int(i) for i in photo_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id IN ({marks})", chunk):
                out[row[0]] = PhotoRow.from_row(row)
        return out

    @_locked
    def get_by_path(self, path: str) -> PhotoRow | None:
        row = self.db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE path = ?", (encode_path(path),)
        ).fetchone()
        return PhotoRow.from_row(row) if row else None

    @_locked
    def all_paths(self) -> list[str]:
        """Every photo's path (any state), for tests and checks."""
        return [decode_path(r[0]) for r in self.db.execute("SELECT path FROM photos ORDER BY id")]

    @_locked
    def embedding(self, photo_id: int) -> tuple[str, np.ndarray] | None:
        row = self.db.execute(
            "SELECT model, embedding FROM photos WHERE id = ? AND state = 'indexed'", (int(photo_id),)
        ).fetchone()
        if row is None or row[1] is None:
            return None
        return row[0], decode_vector(row[1])

    @_locked
    def find_reusable(self, fingerprint: str, model: str) -> tuple[int, bytes, int | None, int | None, float | None] | None:
        """An indexed photo with this content and model, whose embedding (and size, date) a copy can reuse."""
        row = self.db.execute(
            "SELECT id, embedding, width, height, taken_at FROM photos "
            "WHERE fingerprint = ? AND model = ? AND state = 'indexed' LIMIT 1",
            (fingerprint, model),
        ).fetchone()
        return (row[0], row[1], row[2], row[3], row[4]) if row else None

    @_locked
    def indexed_fingerprints(self, model: str) -> set[str]:
        """Content fingerprints of the photos indexed with ``model`` (to spot copies before decoding)."""
        rows = self.db.execute(
            "SELECT fingerprint FROM photos WHERE state = 'indexed' AND model = ? AND fingerprint IS NOT NULL",
            (model,),
        )
        return {r[0] for r in rows}

    @_locked
    def indexed_ids(self, model: str) -> np.ndarray:
        rows = self.db.execute(
            "SELECT id FROM photos WHERE state = 'indexed' AND model = ? ORDER BY id", (model,)
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))

    def iter_embeddings(
        self, model: str, ids: Iterable[int] | None = None, chunk: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (ids, float32 matrix) chunks of stored embeddings, for rebuilding the vector index.

        Each chunk is read under the lock and the lock is released between chunks, so a long rebuild
        never holds a statement open on the shared connection while the caller works.
        """
        if ids is None:
            last = -1
            while True:
                with self._lock:
                    rows = self.db.execute(
                        "SELECT id, embedding FROM photos WHERE state = 'indexed' AND model = ? AND id > ? "
                        "ORDER BY id LIMIT ?",
                        (model, last, chunk),
                    ).fetchall()
                if not rows:
                    return
                last = rows[-1][0]
                yield _stack([r[0] for r in rows], [r[1] for r in rows])
            return
        wanted = [int(i) for i in ids]
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            found: list[tuple[int, bytes]] = []
            with self._lock:
                for sub in range(0, len(part), 500):
                    piece = part[sub : sub + 500]
                    marks = ",".join("?" * len(piece))
                    found += self.db.execute(
                        f"SELECT id, embedding FROM photos WHERE id IN ({marks}) AND state = 'indexed' AND model = ?",
                        (*piece, model),
                    ).fetchall()
            if found:
                yield _stack([r[0] for r in found], [r[1] for r in found])

    @_locked
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM photos GROUP BY state"):
            out[state] = n
        return out

    @_locked
    def folder_counts(self) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {}
        for folder_id, state, n in self.db.execute(
            "SELECT folder_id, state, COUNT(*) FROM photos GROUP BY folder_id, state"
        ):
            out.setdefault(folder_id, dict.fromkeys(STATES, 0))[state] = n
        return out

    @_locked
    def failures(self, limit: int | None = None) -> list[PhotoRow]:
        sql = f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE state = 'failed' ORDER BY path"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [PhotoRow.from_row(row) for row in self.db.execute(sql)]

    @_locked
    def models_in_use(self) -> dict[str, int]:
        return dict(
            self.db.execute(
                "SELECT model, COUNT(*) FROM photos WHERE state = 'indexed' GROUP BY model"
            ).fetchall()
        )

    @_locked
    def file_stamps(self) -> list[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every photo: what the thumbnail cache keys its files by."""
        rows = self.db.execute("SELECT path, size, mtime_ns FROM photos").fetchall()
        return [(decode_path(path), int(size), int(mtime)) for path, size, mtime in rows]

    @_locked
    def library_page(self, offset: int = 0, limit: int = 1000) -> list[PhotoRow]:
        """Photos newest first (date taken, else file time), for browsing the library."""
        rows = self.db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE state = 'indexed' "
            "ORDER BY COALESCE(taken_at, mtime_ns / 1e9) DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [PhotoRow.from_row(row) for row in rows]

    @_locked
    def newest_first_ids(self) -> np.ndarray:
        """Ids of every indexed photo, in the same order as :meth:`library_page` (8 bytes each)."""
        rows = self.db.execute(
            "SELECT id FROM photos WHERE state = 'indexed' ORDER BY COALESCE(taken_at, mtime_ns / 1e9) DESC, id DESC"
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    @_locked
    def newest_first_with_folders(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, watched folder ids, when each row last changed) of every indexed photo, in the order
        of :meth:`newest_first_ids`: what the window needs to show one folder's photos without asking
        the catalog again (the time tells a moved photo, which keeps its id, from one unchanged)."""
        rows = self.db.execute(
            "SELECT id, folder_id, updated_at FROM photos WHERE state = 'indexed' "
            "ORDER BY COALESCE(taken_at, mtime_ns / 1e9) DESC, id DESC"
        ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        owners = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        stamps = np.fromiter((r[2] or 0.0 for r in rows), dtype=np.float64, count=len(rows))
        return ids, owners, stamps

    @_locked
    def stored_paths(self, ids: Sequence[int] | None = None) -> list[tuple[int, int, bytes]]:
        """(id, watched folder id, path as stored: bytes) of these photos, or of every indexed one."""
        if ids is None:
            rows = self.db.execute("SELECT id, folder_id, path FROM photos WHERE state = 'indexed'").fetchall()
        else:
            rows = []
            for start in range(0, len(ids), 500):
                chunk = [int(i) for i in ids[start : start + 500]]
                rows += self.db.execute(
                    f"SELECT id, folder_id, path FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
        return [(pid, fid, path if isinstance(path, bytes) else encode_path(path)) for pid, fid, path in rows]

    @_locked
    def max_photo_id(self) -> int:
        row = self.db.execute("SELECT MAX(id) FROM photos").fetchone()
        return int(row[0] or 0)

    # -- photos: writing ---------------------------------------------------------------------
    # The single-row writers below run inside the caller's transaction (the indexer commits a batch).
    def insert_pending(self, rows: Iterable[tuple[str, int, int, int]]) -> None:
        """Record newly found files (path, folder_id, size, mtime_ns) as pending."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO photos(path, folder_id, size, mtime_ns, state, updated_at) "
                "VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT(path) DO NOTHING",
                [(encode_path(p), f, s, m, now) for p, f, s, m in rows],
            )

    @_locked
    def set_indexed(
        self,
        photo_id: int,
        *,
        size: int,
        mtime_ns: int,
        fingerprint: str,
        model: str,
        embedding: bytes,
        width: int | None,
        height: int | None,
        taken_at: float | None,
    ) -> None:
        self.db.execute(
            "UPDATE photos SET size = ?, mtime_ns = ?, fingerprint = ?, state = 'indexed', error = NULL, "
            "model = ?, embedding = ?, width = ?, height = ?, taken_at = ?, updated_at = ? WHERE id = ?",
            (size, mtime_ns, fingerprint, model, embedding, width, height, taken_at, time.time(), photo_id),
        )

    @_locked
    def replace(self, old_id: int, path: str, folder_id: int, size: int, mtime_ns: int) -> int:
        """Give a changed file a fresh pending row (new id), dropping the stale one."""
        db = self.db
        db.execute("DELETE FROM photos WHERE id = ?", (old_id,))
        cur = db.execute(
            "INSERT INTO photos(path, folder_id, size, mtime_ns, state, updated_at) VALUES (?, ?, ?, ?, 'pending', ?)",
            (encode_path(path), folder_id, size, mtime_ns, time.time()),
        )
        return int(cur.lastrowid or 0)

    @_locked
    def retry_failed(self, paths: Sequence[str] | None = None) -> list[str]:
        """Files that could not be read are read again by the next scan of their folder (all of them,
        or these paths): a failed file is otherwise retried only when its size or time changes, and
        a permission fixed with chmod changes neither. Returns the paths now pending."""
        if paths is None:
            rows = self.db.execute("SELECT id, path FROM photos WHERE state = 'failed'").fetchall()
        else:
            wanted = [encode_path(p) for p in paths]
            rows = []
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                rows += self.db.execute(
                    f"SELECT id, path FROM photos WHERE state = 'failed' AND path IN ({','.join('?' * len(part))})",
                    part).fetchall()
        with self.transaction() as db:
            db.executemany("UPDATE photos SET state = 'pending', error = NULL, updated_at = ? WHERE id = ?",
                           [(time.time(), row[0]) for row in rows])
        return [decode_path(row[1]) for row in rows]

    @_locked
    def set_failed(self, photo_id: int, error: str, *, size: int | None = None, mtime_ns: int | None = None) -> None:
        self.db.execute(
            "UPDATE photos SET state = 'failed', error = ?, model = NULL, embedding = NULL, "
            "size = COALESCE(?, size), mtime_ns = COALESCE(?, mtime_ns), updated_at = ? WHERE id = ?",
            (error, size, mtime_ns, time.time(), photo_id),
        )

    @_locked
    def touch(self, photo_id: int, size: int, mtime_ns: int) -> None:
        """The file's time changed but its content did not."""
        self.db.execute(
            "UPDATE photos SET size = ?, mtime_ns = ?, updated_at = ? WHERE id = ?",
            (size, mtime_ns, time.time(), photo_id),
        )

    @_locked
    def move(self, photo_id: int, new_path: str, folder_id: int, size: int, mtime_ns: int) -> list[int]:
        """A photo was moved or renamed: keep its row (and embedding), change its path.

        Returns the ids of rows that stood at the new path (an overwritten photo) and were dropped.
        """
        db = self.db
        target = encode_path(new_path)
        replaced = [r[0] for r in db.execute("SELECT id FROM photos WHERE path = ? AND id != ?", (target, photo_id))]
        db.execute("DELETE FROM photos WHERE path = ? AND id != ?", (target, photo_id))
        db.execute(
            "UPDATE photos SET path = ?, folder_id = ?, size = ?, mtime_ns = ?, updated_at = ? WHERE id = ?",
            (target, folder_id, size, mtime_ns, time.time(), photo_id),
        )
        return replaced

    def delete(self, photo_ids: Iterable[int]) -> None:
        ids = [(int(i),) for i in photo_ids]
        with self.transaction() as db:
            db.executemany("DELETE FROM photos WHERE id = ?", ids)

    # -- labels (what the classifier says about a photo; see photosim.core.tags) ---------------
    @_locked
    def set_labels(self, photo_id: int, model: str, labels: bytes, camera: str | None) -> None:
        """Record a photo's labels; joins the caller's transaction (the indexer's batch commit)."""
        self.db.execute(
            "INSERT INTO photo_labels(photo_id, model, labels, camera, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(photo_id) DO UPDATE SET model = excluded.model, labels = excluded.labels, "
            "camera = excluded.camera, updated_at = excluded.updated_at",
            (photo_id, model, labels, camera, time.time()),
        )

    @_locked
    def copy_labels(self, source_id: int, target_id: int) -> bool:
        """Give a copy of a photo (same content) the original's labels; False if it has none."""
        cur = self.db.execute(
            "INSERT OR REPLACE INTO photo_labels(photo_id, model, labels, camera, updated_at) "
            "SELECT ?, model, labels, camera, ? FROM photo_labels WHERE photo_id = ?",
            (target_id, time.time(), source_id),
        )
        return cur.rowcount > 0

    @_locked
    def labels_of(self, photo_id: int) -> tuple[str, bytes, str | None] | None:
        """(model, labels blob, camera) of a photo, or None if it has not been analysed."""
        row = self.db.execute(
            "SELECT model, labels, camera FROM photo_labels WHERE photo_id = ?", (photo_id,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def iter_labels(self, model: str, ids: Iterable[int] | None = None, chunk: int = 4096) -> Iterator[tuple[list[int], list[bytes]]]:
        """Yield (photo ids, label blobs) chunks of indexed photos analysed with ``model``.

        Like :meth:`iter_embeddings`, each chunk is read under the lock, released between chunks.
        """
        sql = ("SELECT l.photo_id, l.labels FROM photo_labels l JOIN photos p ON p.id = l.photo_id "
               "WHERE l.model = ? AND p.state = 'indexed'")
        if ids is None:
            last = -1
            while True:
                with self._lock:
                    rows = self.db.execute(sql + " AND l.photo_id > ? ORDER BY l.photo_id LIMIT ?",
                                           (model, last, chunk)).fetchall()
                if not rows:
                    return
                last = rows[-1][0]
                yield [r[0] for r in rows], [r[1] for r in rows]
        wanted = [int(i) for i in ids]
        for start in range(0, len(wanted), chunk):
            part = wanted[start : start + chunk]
            found: list[tuple[int, bytes]] = []
            with self._lock:
                for sub in range(0, len(part), 500):
                    piece = part[sub : sub + 500]
                    marks = ",".join("?" * len(piece))
                    found += self.db.execute(sql + f" AND l.photo_id IN ({marks})", (model, *piece)).fetchall()
            if found:
                yield [r[0] for r in found], [r[1] for r in found]

    @_locked
    def labelled_ids(self, model: str) -> np.ndarray:
        """Ids of the indexed photos analysed with ``model``, ascending."""
        rows = self.db.execute(
            "SELECT l.photo_id FROM photo_labels l JOIN photos p ON p.id = l.photo_id "
            "WHERE l.model = ? AND p.state = 'indexed' ORDER BY l.photo_id",
            (model,),
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))

    @_locked
    def photos_missing_labels(self, model: str, limit: int = 256, after_id: int = 0) -> list[PhotoRow]:
        """Indexed photos not yet analysed with ``model`` (the backfill's work), by id from ``after_id``."""
        rows = self.db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE state = 'indexed' AND id > ? AND NOT EXISTS "
            "(SELECT 1 FROM photo_labels l WHERE l.photo_id = photos.id AND l.model = ?) ORDER BY id LIMIT ?",
            (after_id, model, limit),
        )
        return [PhotoRow.from_row(row) for row in rows]

    @_locked
    def count_missing_labels(self, model: str) -> int:
        return int(self.db.execute(
            "SELECT COUNT(*) FROM photos WHERE state = 'indexed' AND NOT EXISTS "
            "(SELECT 1 FROM photo_labels l WHERE l.photo_id = photos.id AND l.model = ?)",
            (model,),
        ).fetchone()[0])

    @_locked
    def labels_stamp(self, model: str) -> tuple[int, int]:
        """(count, sum of ids) of the photos labelled by ``model``: changes whenever one comes or goes.

        Ids are never reused, so any addition or removal changes the pair; caches of the labels
        (word search, the look-alike index) compare it instead of re-reading every row. Read from
        the labels table alone (labels are written only for indexed photos and leave with their
        row), so it stays cheap: one pass over the model index.
        """
        row = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(photo_id), 0) FROM photo_labels WHERE model = ?", (model,)
        ).fetchone()
        return int(row[0]), int(row[1])
    # -- the duplicate finder's tables (migration 3) ----------------------------------------------
    @_locked
    def dedup_keys(self, model: str) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
        """(ids, fingerprints, capture times or NaN, paths) of every photo indexed with ``model``, by id:
        what a duplicate pass needs about each photo, without building 100,000 row objects."""
        rows = self.db.execute(
            "SELECT id, fingerprint, taken_at, path FROM photos WHERE state = 'indexed' AND model = ? ORDER BY id",
            (model,),
        ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        taken = np.fromiter((np.nan if r[2] is None else r[2] for r in rows), dtype=np.float64, count=len(rows))
        return ids, [r[1] or "" for r in rows], taken, [decode_path(r[3]) for r in rows]

    @_locked
    def exact_copies(self) -> list[list[int]]:
        """Ids of indexed photos that share a content fingerprint, one list per fingerprint (by id)."""
        rows = self.db.execute(
            "SELECT fingerprint, id FROM photos WHERE state = 'indexed' AND fingerprint IN ("
            "SELECT fingerprint FROM photos WHERE state = 'indexed' AND fingerprint IS NOT NULL "
            "GROUP BY fingerprint HAVING COUNT(*) > 1) ORDER BY fingerprint, id"
        ).fetchall()
        out: dict[str, list[int]] = {}
        for fingerprint, photo_id in rows:
            out.setdefault(fingerprint, []).append(int(photo_id))
        return list(out.values())

    @_locked
    def photos_with_fingerprints(self, fingerprints: Iterable[str]) -> list[PhotoRow]:
        """Indexed photos with any of these contents (exact copies included)."""
        wanted = list(dict.fromkeys(fingerprints))
        out: list[PhotoRow] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out += [PhotoRow.from_row(r) for r in self.db.execute(
                f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE state = 'indexed' AND fingerprint IN ({marks})", chunk)]
        return out

    @_locked
    def photo_facts(self, fingerprints: Iterable[str], version: int) -> dict[str, str]:
        """Stored measures (JSON text) of these contents, made by measure ``version``."""
        wanted = list(dict.fromkeys(fingerprints))
        out: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(
                f"SELECT fingerprint, facts FROM photo_facts WHERE version = ? AND fingerprint IN ({marks})",
                (version, *chunk)).fetchall())
        return out

    def put_photo_facts(self, facts: dict[str, str], version: int) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO photo_facts(fingerprint, version, facts) VALUES (?, ?, ?) "
                "ON CONFLICT(fingerprint) DO UPDATE SET version = excluded.version, facts = excluded.facts",
                [(fp, version, text) for fp, text in facts.items()],
            )

    @_locked
    def pair_checks(self, version: int) -> dict[tuple[str, str], str]:
        """Every stored pair check (JSON text) of ``version``, keyed by the two fingerprints in order."""
        rows = self.db.execute("SELECT a, b, result FROM pair_checks WHERE version = ?", (version,))
        return {(a, b): result for a, b, result in rows}

    def put_pair_checks(self, checks: dict[tuple[str, str], str], version: int) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO pair_checks(a, b, version, result) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(a, b) DO UPDATE SET version = excluded.version, result = excluded.result",
                [(a, b, version, text) for (a, b), text in checks.items()],
            )

    @_locked
    def dup_decisions(self) -> list[tuple[int, str, str, list[str]]]:
        """(id, kind, tier, member fingerprints) of every stored "not duplicates" / "keep all" decision."""
        import json

        return [(int(i), kind, tier, json.loads(members)) for i, kind, tier, members in
                self.db.execute("SELECT id, kind, tier, members FROM dup_decisions ORDER BY id")]

    def add_dup_decision(self, kind: str, tier: str, members: Sequence[str]) -> int:
        import json

        with self.transaction() as db:
            cur = db.execute("INSERT INTO dup_decisions(kind, tier, members, created_at) VALUES (?, ?, ?, ?)",
                             (kind, tier, json.dumps(sorted(set(members))), time.time()))
            return int(cur.lastrowid or 0)

    def delete_dup_decision(self, decision_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM dup_decisions WHERE id = ?", (int(decision_id),))

    @_locked
    def next_journal_batch(self) -> int:
        row = self.db.execute("SELECT MAX(batch) FROM action_journal").fetchone()
        return int(row[0] or 0) + 1

    def journal_add(self, batch: int, action: str, *, path: str | None = None, target: str | None = None,
                    fingerprint: str | None = None, photo: str | None = None, embedding: bytes | None = None,
                    decision_id: int | None = None) -> int:
        """Record one action of the user's clean-up (inside the caller's transaction when there is one)."""
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO action_journal(batch, at, action, path, target, fingerprint, photo, embedding, "
                "decision_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (batch, time.time(), action, None if path is None else encode_path(path),
                 None if target is None else encode_path(target), fingerprint, photo, embedding, decision_id),
            )
            return int(cur.lastrowid or 0)

    @_locked
    def journal(self, limit: int = 100, *, batch: int | None = None) -> list[tuple[Any, ...]]:
        """Journal rows, newest first: (id, batch, at, action, path, target, fingerprint, photo, embedding,
        decision_id, undone_at), paths decoded."""
        sql = ("SELECT id, batch, at, action, path, target, fingerprint, photo, embedding, decision_id, undone_at "
               "FROM action_journal")
        params: tuple[Any, ...] = ()
        if batch is not None:
            sql += " WHERE batch = ?"
            params = (batch,)
        sql += " ORDER BY id DESC LIMIT ?"
        rows = self.db.execute(sql, (*params, int(limit))).fetchall()
        return [(r[0], r[1], r[2], r[3], None if r[4] is None else decode_path(r[4]),
                 None if r[5] is None else decode_path(r[5]), *r[6:]) for r in rows]

    @_locked
    def last_undoable_batch(self) -> int | None:
        row = self.db.execute("SELECT MAX(batch) FROM action_journal WHERE undone_at IS NULL").fetchone()
        return None if row[0] is None else int(row[0])

    def journal_mark_undone(self, entry_ids: Iterable[int]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE action_journal SET undone_at = ? WHERE id = ?",
                           [(time.time(), int(i)) for i in entry_ids])

    @_locked
    def insert_indexed(self, path: str, folder_id: int, *, size: int, mtime_ns: int, fingerprint: str, model: str,
                       embedding: bytes, width: int | None, height: int | None, taken_at: float | None) -> int:
        """A file put back (an undone clean-up) with the embedding it had: no model run needed. A row
        already at that path (a scan got there first) is replaced."""
        db = self.db
        db.execute("DELETE FROM photos WHERE path = ?", (encode_path(path),))
        cur = db.execute(
            "INSERT INTO photos(path, folder_id, size, mtime_ns, fingerprint, state, model, embedding, width, "
            "height, taken_at, updated_at) VALUES (?, ?, ?, ?, ?, 'indexed', ?, ?, ?, ?, ?, ?)",
            (encode_path(path), folder_id, size, mtime_ns, fingerprint, model, embedding, width, height, taken_at,
             time.time()),
        )
        return int(cur.lastrowid or 0)

    @_locked
    def photo_record(self, photo_id: int) -> tuple[PhotoRow, bytes | None] | None:
        """A photo's row and its stored embedding (what the journal keeps to put a file back)."""
        row = self.db.execute(f"SELECT {_PHOTO_COLUMNS}, embedding FROM photos WHERE id = ?", (int(photo_id),)).fetchone()
        return (PhotoRow.from_row(row[:-1]), row[-1]) if row else None

    def integrity_problems(self) -> list[str]:
        """Checks used by tests, ``status`` and ``check``: the SQLite check plus our own invariants."""
        damage = self.damage()
        return damage if damage else self.invariant_problems()

    @_locked
    def damage(self) -> list[str]:
        """What SQLite's integrity check finds wrong with the file itself (empty when intact)."""
        try:
            return [r[0] for r in self.db.execute("PRAGMA integrity_check") if r[0] != "ok"]
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            return [f"the file is damaged: {exc}"]

    @_locked
    def invariant_problems(self) -> list[str]:
        """Rows that break photosim's own rules (a bug or a hand edit, not a damaged file)."""
        problems = []
        bad = self.db.execute(
            "SELECT COUNT(*) FROM photos WHERE state = 'indexed' AND (embedding IS NULL OR model IS NULL)"
        ).fetchone()[0]
        if bad:
            problems.append(f"{bad} indexed photos without an embedding")
        orphans = self.db.execute(
            "SELECT COUNT(*) FROM photos WHERE folder_id NOT IN (SELECT id FROM folders)"
        ).fetchone()[0]
        if orphans:
            problems.append(f"{orphans} photos outside any watched folder")
        return problems

    def fix_invariants(self) -> int:
        """Make rule-breaking rows right again: re-index photos without a vector, drop orphans."""
        with self.transaction() as db:
            fixed = db.execute(
                "UPDATE photos SET state = 'pending', model = NULL, embedding = NULL "
                "WHERE state = 'indexed' AND (embedding IS NULL OR model IS NULL)"
            ).rowcount
            fixed += db.execute("DELETE FROM photos WHERE folder_id NOT IN (SELECT id FROM folders)").rowcount
        return int(fixed)


def _stack(ids: list[int], blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1).astype(np.float32)
    return np.asarray(ids, dtype=np.uint64), arr
