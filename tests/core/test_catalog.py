"""The catalog file: schema versioning, folders that never nest, rows that say what they are."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from photosim.core.catalog import SCHEMA_VERSION, Catalog, CatalogError, encode_vector


def test_new_catalog_has_current_schema_and_wal(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "c.sqlite3")
    assert cat.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert cat.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cat.close()
    again = Catalog(tmp_path / "c.sqlite3")  # reopening migrates nothing and loses nothing
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    again.close()


def test_newer_schema_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    Catalog(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    with pytest.raises(CatalogError, match="newer photosim"):
        Catalog(path)


def test_readonly_catalog_of_missing_library_explains(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "none" / "c.sqlite3", readonly=True)
    with pytest.raises(CatalogError, match="no library"):
        cat.folders()


def test_folders_never_nest(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "c.sqlite3")
    root = tmp_path / "Pictures"
    child = root / "2019"
    child.mkdir(parents=True)
    f_child, added = cat.add_folder(str(child))
    assert added
    cat.insert_pending([(str(child / "a.jpg"), f_child.id, 10, 1)])
    same, added = cat.add_folder(str(child / "."))
    assert not added and same.id == f_child.id
    f_root, added = cat.add_folder(str(root))  # a parent absorbs its watched children
    assert added
    assert [f.path for f in cat.folders()] == [str(root)]
    assert cat.get_by_path(str(child / "a.jpg")).folder_id == f_root.id
    inner, added = cat.add_folder(str(child))
    assert not added and inner.id == f_root.id
    with pytest.raises(CatalogError, match="not a watched folder"):
        cat.remove_folder(str(tmp_path / "elsewhere"))
    assert cat.remove_folder(str(root)) and cat.counts()["pending"] == 0


def test_rows_record_state_model_and_embedding(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "c.sqlite3")
    folder, _ = cat.add_folder(str(tmp_path))
    cat.insert_pending([(str(tmp_path / "a.jpg"), folder.id, 100, 5), (str(tmp_path / "b.jpg"), folder.id, 50, 6)])
    a = cat.get_by_path(str(tmp_path / "a.jpg"))
    b = cat.get_by_path(str(tmp_path / "b.jpg"))
    vec = np.random.default_rng(0).normal(size=8).astype(np.float32)
    vec /= np.linalg.norm(vec)
    with cat.transaction():
        cat.set_indexed(a.id, size=100, mtime_ns=5, fingerprint="f" * 32, model="m1", embedding=encode_vector(vec),
                        width=4, height=3, taken_at=None)
        cat.set_failed(b.id, "not an image")
    assert cat.counts() == {"pending": 0, "indexed": 1, "failed": 1}
    model, stored = cat.embedding(a.id)
    assert model == "m1" and np.allclose(stored, vec, atol=1e-3)
    assert cat.indexed_ids("m1").tolist() == [a.id] and cat.indexed_ids("m2").size == 0
    assert [(r.path, r.error) for r in cat.failures()] == [(str(tmp_path / "b.jpg"), "not an image")]
    assert cat.integrity_problems() == []
    ids, mat = next(cat.iter_embeddings("m1"))
    assert ids.tolist() == [a.id] and mat.shape == (1, 8)


def test_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "c.sqlite3")
    folder, _ = cat.add_folder(str(tmp_path))
    with pytest.raises(RuntimeError):
        with cat.transaction():
            cat.insert_pending([(str(tmp_path / "a.jpg"), folder.id, 1, 1)])
            raise RuntimeError("crash in the middle")
    assert cat.get_by_path(str(tmp_path / "a.jpg")) is None


def test_a_first_version_catalog_gets_byte_paths_and_keeps_its_rows(tmp_path: Path) -> None:
    """Schema 1 stored paths as text; the upgrade turns them into the file system's bytes."""
    from photosim.core.catalog import MIGRATIONS, PENDING

    path = tmp_path / "c.sqlite3"
    db = sqlite3.connect(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO folders(path, added_at) VALUES ('/photos/été', 0)")
    db.execute("INSERT INTO photos(path, folder_id, size, mtime_ns, state, updated_at) "
               "VALUES ('/photos/été/a.jpg', 1, 10, 1, 'pending', 0)")
    db.commit()
    db.close()
    cat = Catalog(path)
    assert [f.path for f in cat.folders()] == ["/photos/été"]
    row = cat.get_by_path("/photos/été/a.jpg")
    assert row is not None and row.state == PENDING
    assert cat.query("SELECT typeof(path) FROM photos") == [("blob",)]
    odd = os.fsdecode(b"/photos/\xe9t\xe9/b.jpg")  # not valid UTF-8: stored as its bytes
    cat.insert_pending([(odd, 1, 5, 2)])
    assert cat.get_by_path(odd).path == odd
    cat.close()
