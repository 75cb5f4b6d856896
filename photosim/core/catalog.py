"""The catalog: the SQLite file that is the library's source of truth.

It holds the watched folders and one row per photo: path, size, mtime, content fingerprint, state
(pending, indexed, failed with its reason), the model that embedded it and the embedding itself
(float16). The vector index is only a cache of these embeddings and can always be rebuilt from here
without running the model again.

Design notes:

* WAL journal, so readers (a search from the CLI or the GUI thread) never block the indexer.
* One connection per thread (SQLite connections must not be shared across threads casually).
* A photo's id is never reused and never points at a different embedding: when a changed file is
  re-embedded its row is replaced by a new one. The vector index uses these ids as keys, so "is the
  index consistent with the catalog?" is just a comparison of key sets.
* ``PRAGMA user_version`` is the schema version; :data:`MIGRATIONS` upgrades older files in place.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


MIGRATIONS = [_migration_1, _migration_labels]
SCHEMA_VERSION = len(MIGRATIONS)


class CatalogError(Exception):
    """A user-facing problem with the catalog (unknown folder, newer schema...)."""


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    added_at: float


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


_PHOTO_COLUMNS = "id, path, folder_id, size, mtime_ns, fingerprint, state, error, model, width, height, taken_at"


def encode_vector(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype=np.float16).tobytes()


def decode_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)


class Catalog:
    """Access to the catalog file; safe to use from several threads (one connection each)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._local = threading.local()
        self._all_connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._migrate()

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self.readonly and not self.path.exists():
            raise CatalogError(f"no library at {self.path.parent} (run 'photosim index FOLDER' first)")
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 30000")
        if not self.readonly:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        return db

    @property
    def db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
            with self._lock:
                self._all_connections.append(db)
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._all_connections:
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            self._all_connections.clear()
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write; nested use joins the outer transaction."""
        db = self.db
        if db.in_transaction:
            yield db
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")

    def _migrate(self) -> None:
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
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- folders -----------------------------------------------------------------------------
    def folders(self) -> list[Folder]:
        rows = self.db.execute("SELECT id, path, added_at FROM folders ORDER BY path").fetchall()
        return [Folder(*row) for row in rows]

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
            cur = db.execute("INSERT INTO folders(path, added_at) VALUES (?, ?)", (path, time.time()))
            new_id = int(cur.lastrowid or 0)
            for folder in self.folders():
                if folder.id != new_id and is_within(folder.path, path):
                    db.execute("UPDATE photos SET folder_id = ? WHERE folder_id = ?", (new_id, folder.id))
                    db.execute("DELETE FROM folders WHERE id = ?", (folder.id,))
            row = db.execute("SELECT id, path, added_at FROM folders WHERE id = ?", (new_id,)).fetchone()
        return Folder(*row), True

    def remove_folder(self, path: str) -> list[int]:
        """Stop watching a folder; its photos leave the catalog. Returns the removed photo ids."""
        path = normalize_path(path)
        with self.transaction() as db:
            row = db.execute("SELECT id FROM folders WHERE path = ?", (path,)).fetchone()
            if row is None:
                raise CatalogError(f"not a watched folder: {path}")
            ids = [r[0] for r in db.execute("SELECT id FROM photos WHERE folder_id = ?", (row[0],))]
            db.execute("DELETE FROM photos WHERE folder_id = ?", (row[0],))
            db.execute("DELETE FROM folders WHERE id = ?", (row[0],))
        return ids

    # -- photos: reading ---------------------------------------------------------------------
    def photos_in_folder(self, folder_id: int) -> dict[str, PhotoRow]:
        rows = self.db.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE folder_id = ?", (folder_id,))
        return {row[1]: PhotoRow(*row) for row in rows}

    def get(self, photo_id: int) -> PhotoRow | None:
        row = self.db.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)).fetchone()
        return PhotoRow(*row) if row else None

    def get_many(self, photo_ids: Sequence[int]) -> dict[int, PhotoRow]:
        out: dict[int, PhotoRow] = {}
        ids = [int(i) for i in photo_ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE id IN ({marks})", chunk):
                out[row[0]] = PhotoRow(*row)
        return out

    def get_by_path(self, path: str) -> PhotoRow | None:
        row = self.db.execute(f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE path = ?", (path,)).fetchone()
        return PhotoRow(*row) if row else None

    def embedding(self, photo_id: int) -> tuple[str, np.ndarray] | None:
        row = self.db.execute(
            "SELECT model, embedding FROM photos WHERE id = ? AND state = 'indexed'", (photo_id,)
        ).fetchone()
        if row is None or row[1] is None:
            return None
        return row[0], decode_vector(row[1])

    def find_reusable(self, fingerprint: str, model: str) -> tuple[int, bytes, int | None, int | None, float | None] | None:
        """An indexed photo with this content and model, whose embedding (and size, date) a copy can reuse."""
        row = self.db.execute(
            "SELECT id, embedding, width, height, taken_at FROM photos "
            "WHERE fingerprint = ? AND model = ? AND state = 'indexed' LIMIT 1",
            (fingerprint, model),
        ).fetchone()
        return (row[0], row[1], row[2], row[3], row[4]) if row else None

    def indexed_fingerprints(self, model: str) -> set[str]:
        """Content fingerprints of the photos indexed with ``model`` (to spot copies before decoding)."""
        rows = self.db.execute(
            "SELECT fingerprint FROM photos WHERE state = 'indexed' AND model = ? AND fingerprint IS NOT NULL",
            (model,),
        )
        return {r[0] for r in rows}

    def indexed_ids(self, model: str) -> np.ndarray:
        rows = self.db.execute(
            "SELECT id FROM photos WHERE state = 'indexed' AND model = ? ORDER BY id", (model,)
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))

    def iter_embeddings(
        self, model: str, ids: Iterable[int] | None = None, chunk: int = 4096
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (ids, float32 matrix) chunks of stored embeddings, for rebuilding the vector index."""
        if ids is None:
            cursor = self.db.execute(
                "SELECT id, embedding FROM photos WHERE state = 'indexed' AND model = ? ORDER BY id", (model,)
            )
            rows_iter: Iterator[tuple[int, bytes]] = iter(cursor)
        else:
            wanted = [int(i) for i in ids]

            def _gen() -> Iterator[tuple[int, bytes]]:
                for start in range(0, len(wanted), 500):
                    part = wanted[start : start + 500]
                    marks = ",".join("?" * len(part))
                    yield from self.db.execute(
                        f"SELECT id, embedding FROM photos WHERE id IN ({marks}) AND state = 'indexed' AND model = ?",
                        (*part, model),
                    ).fetchall()

            rows_iter = _gen()
        batch_ids: list[int] = []
        batch_vecs: list[bytes] = []
        for photo_id, blob in rows_iter:
            batch_ids.append(photo_id)
            batch_vecs.append(blob)
            if len(batch_ids) >= chunk:
                yield _stack(batch_ids, batch_vecs)
                batch_ids, batch_vecs = [], []
        if batch_ids:
            yield _stack(batch_ids, batch_vecs)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM photos GROUP BY state"):
            out[state] = n
        return out

    def folder_counts(self) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {}
        for folder_id, state, n in self.db.execute(
            "SELECT folder_id, state, COUNT(*) FROM photos GROUP BY folder_id, state"
        ):
            out.setdefault(folder_id, dict.fromkeys(STATES, 0))[state] = n
        return out

    def failures(self, limit: int | None = None) -> list[PhotoRow]:
        sql = f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE state = 'failed' ORDER BY path"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [PhotoRow(*row) for row in self.db.execute(sql)]

    def models_in_use(self) -> dict[str, int]:
        return dict(
            self.db.execute(
                "SELECT model, COUNT(*) FROM photos WHERE state = 'indexed' GROUP BY model"
            ).fetchall()
        )

    def library_page(self, offset: int = 0, limit: int = 1000) -> list[PhotoRow]:
        """Photos newest first (date taken, else file time), for browsing the library."""
        rows = self.db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE state = 'indexed' "
            "ORDER BY COALESCE(taken_at, mtime_ns / 1e9) DESC, id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [PhotoRow(*row) for row in rows]

    # -- photos: writing ---------------------------------------------------------------------
    def insert_pending(self, rows: Iterable[tuple[str, int, int, int]]) -> None:
        """Record newly found files (path, folder_id, size, mtime_ns) as pending."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO photos(path, folder_id, size, mtime_ns, state, updated_at) "
                "VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT(path) DO NOTHING",
                [(p, f, s, m, now) for p, f, s, m in rows],
            )

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

    def replace(self, old_id: int, path: str, folder_id: int, size: int, mtime_ns: int) -> int:
        """Give a changed file a fresh pending row (new id), dropping the stale one."""
        db = self.db
        db.execute("DELETE FROM photos WHERE id = ?", (old_id,))
        cur = db.execute(
            "INSERT INTO photos(path, folder_id, size, mtime_ns, state, updated_at) VALUES (?, ?, ?, ?, 'pending', ?)",
            (path, folder_id, size, mtime_ns, time.time()),
        )
        return int(cur.lastrowid or 0)

    def set_failed(self, photo_id: int, error: str, *, size: int | None = None, mtime_ns: int | None = None) -> None:
        self.db.execute(
            "UPDATE photos SET state = 'failed', error = ?, model = NULL, embedding = NULL, "
            "size = COALESCE(?, size), mtime_ns = COALESCE(?, mtime_ns), updated_at = ? WHERE id = ?",
            (error, size, mtime_ns, time.time(), photo_id),
        )

    def touch(self, photo_id: int, size: int, mtime_ns: int) -> None:
        """The file's time changed but its content did not."""
        self.db.execute(
            "UPDATE photos SET size = ?, mtime_ns = ?, updated_at = ? WHERE id = ?",
            (size, mtime_ns, time.time(), photo_id),
        )

    def move(self, photo_id: int, new_path: str, folder_id: int, size: int, mtime_ns: int) -> list[int]:
        """A photo was moved or renamed: keep its row (and embedding), change its path.

        Returns the ids of rows that stood at the new path (an overwritten photo) and were dropped.
        """
        db = self.db
        replaced = [r[0] for r in db.execute("SELECT id FROM photos WHERE path = ? AND id != ?", (new_path, photo_id))]
        db.execute("DELETE FROM photos WHERE path = ? AND id != ?", (new_path, photo_id))
        db.execute(
            "UPDATE photos SET path = ?, folder_id = ?, size = ?, mtime_ns = ?, updated_at = ? WHERE id = ?",
            (new_path, folder_id, size, mtime_ns, time.time(), photo_id),
        )
        return replaced

    def delete(self, photo_ids: Iterable[int]) -> None:
        ids = [(int(i),) for i in photo_ids]
        with self.transaction() as db:
            db.executemany("DELETE FROM photos WHERE id = ?", ids)

    # -- labels (what the classifier says about a photo; see photosim.core.tags) ---------------
    def set_labels(self, photo_id: int, model: str, labels: bytes, camera: str | None) -> None:
        """Record a photo's labels; joins the caller's transaction (the indexer's batch commit)."""
        self.db.execute(
            "INSERT INTO photo_labels(photo_id, model, labels, camera, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(photo_id) DO UPDATE SET model = excluded.model, labels = excluded.labels, "
            "camera = excluded.camera, updated_at = excluded.updated_at",
            (photo_id, model, labels, camera, time.time()),
        )

    def copy_labels(self, source_id: int, target_id: int) -> bool:
        """Give a copy of a photo (same content) the original's labels; False if it has none."""
        cur = self.db.execute(
            "INSERT OR REPLACE INTO photo_labels(photo_id, model, labels, camera, updated_at) "
            "SELECT ?, model, labels, camera, ? FROM photo_labels WHERE photo_id = ?",
            (target_id, time.time(), source_id),
        )
        return cur.rowcount > 0

    def labels_of(self, photo_id: int) -> tuple[str, bytes, str | None] | None:
        """(model, labels blob, camera) of a photo, or None if it has not been analysed."""
        row = self.db.execute(
            "SELECT model, labels, camera FROM photo_labels WHERE photo_id = ?", (photo_id,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def iter_labels(self, model: str, ids: Iterable[int] | None = None, chunk: int = 4096) -> Iterator[tuple[list[int], list[bytes]]]:
        """Yield (photo ids, label blobs) chunks of indexed photos analysed with ``model``."""
        sql = ("SELECT l.photo_id, l.labels FROM photo_labels l JOIN photos p ON p.id = l.photo_id "
               "WHERE l.model = ? AND p.state = 'indexed'")
        if ids is None:
            rows: Iterable[tuple[int, bytes]] = self.db.execute(sql + " ORDER BY l.photo_id", (model,))
        else:
            wanted = [int(i) for i in ids]

            def _gen() -> Iterator[tuple[int, bytes]]:
                for start in range(0, len(wanted), 500):
                    part = wanted[start : start + 500]
                    marks = ",".join("?" * len(part))
                    yield from self.db.execute(sql + f" AND l.photo_id IN ({marks})", (model, *part)).fetchall()

            rows = _gen()
        batch_ids: list[int] = []
        blobs: list[bytes] = []
        for photo_id, blob in rows:
            batch_ids.append(photo_id)
            blobs.append(blob)
            if len(batch_ids) >= chunk:
                yield batch_ids, blobs
                batch_ids, blobs = [], []
        if batch_ids:
            yield batch_ids, blobs

    def labelled_ids(self, model: str) -> np.ndarray:
        """Ids of the indexed photos analysed with ``model``, ascending."""
        rows = self.db.execute(
            "SELECT l.photo_id FROM photo_labels l JOIN photos p ON p.id = l.photo_id "
            "WHERE l.model = ? AND p.state = 'indexed' ORDER BY l.photo_id",
            (model,),
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows))

    def photos_missing_labels(self, model: str, limit: int = 256, after_id: int = 0) -> list[PhotoRow]:
        """Indexed photos not yet analysed with ``model`` (the backfill's work), by id from ``after_id``."""
        rows = self.db.execute(
            f"SELECT {_PHOTO_COLUMNS} FROM photos WHERE state = 'indexed' AND id > ? AND NOT EXISTS "
            "(SELECT 1 FROM photo_labels l WHERE l.photo_id = photos.id AND l.model = ?) ORDER BY id LIMIT ?",
            (after_id, model, limit),
        )
        return [PhotoRow(*row) for row in rows]

    def count_missing_labels(self, model: str) -> int:
        return int(self.db.execute(
            "SELECT COUNT(*) FROM photos WHERE state = 'indexed' AND NOT EXISTS "
            "(SELECT 1 FROM photo_labels l WHERE l.photo_id = photos.id AND l.model = ?)",
            (model,),
        ).fetchone()[0])

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

    def integrity_problems(self) -> list[str]:
        """Checks used by tests and ``status``: the SQLite check plus our own invariants."""
        problems = [r[0] for r in self.db.execute("PRAGMA integrity_check") if r[0] != "ok"]
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


def _stack(ids: list[int], blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1).astype(np.float32)
    return np.asarray(ids, dtype=np.uint64), arr
