"""Backups of the catalog, ``photosim check`` and ``--repair`` on deliberately damaged files."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from photosim.cli import main
from photosim.core.backup import list_backups, make_backup, verify_backup
from photosim.core.catalog import Catalog
from photosim.core.health import check_library
from photosim.core.library import CATALOG_FILE, Library
from tests.photos import mirror, save_jpeg


@pytest.fixture(autouse=True)
def _shared_model(monkeypatch: pytest.MonkeyPatch, embedder) -> None:  # noqa: ANN001
    monkeypatch.setattr("photosim.core.embedder.Embedder", lambda *a, **k: embedder)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def damage_middle(path: Path) -> None:
    """Overwrite one page in the middle of the file with garbage, as a failing disk would."""
    page = 4096
    size = path.stat().st_size
    assert size >= 4 * page, "the catalog is too small to damage in the middle"
    with open(path, "r+b") as fh:
        fh.seek((size // page // 2) * page)
        fh.write(os.urandom(page))


def damage_header(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.write(b"\0garbage, not sqlite\0" * 5)


def test_backups_are_daily_checked_and_only_the_last_three_kept(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / CATALOG_FILE)
    catalog.add_folder(str(tmp_path))
    day = 24 * 3600
    start = 1_800_000_000.0
    assert make_backup(catalog, tmp_path, now=start) is not None
    assert make_backup(catalog, tmp_path, now=start + 3600) is None  # at most one a day
    for n in range(1, 5):
        assert make_backup(catalog, tmp_path, now=start + n * day) is not None
    backups = list_backups(tmp_path)
    assert len(backups) == 3 and backups[0].created > backups[1].created > backups[2].created
    assert all(verify_backup(b.path)[0] for b in backups)
    ok, what = verify_backup(backups[0].path)
    assert "in 1 folder" in what
    damage_header(backups[1].path)
    assert not verify_backup(backups[1].path)[0]
    catalog.close()


def test_check_then_repair_a_damaged_catalog_from_its_backup(capsys, photo_dir: Path, data_dir: Path,  # noqa: ANN001
                                                             tmp_path: Path, originals_dir: Path) -> None:
    code, _, err = run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
    assert code == 0 and len(list_backups(data_dir)) == 1  # the first run that changed something
    shutil.copy(originals_dir / "hubble_deep_field.jpg", photo_dir / "later.jpg")  # added after the backup
    code, _, err = run(capsys, "index", "--data-dir", str(data_dir))
    assert code == 0 and "indexed 1," in err and len(list_backups(data_dir)) == 1  # at most one a day

    code, out, _ = run(capsys, "check", "--data-dir", str(data_dir))
    assert code == 0 and out.strip().endswith("healthy")
    assert "9 indexed" in out and "every photo findable" in out

    damage_middle(data_dir / CATALOG_FILE)
    code, out, _ = run(capsys, "check", "--data-dir", str(data_dir))
    assert code == 1 and "PROBLEM" in out and "damaged" in out and "--repair" in out
    code, _, err = run(capsys, "index", "--data-dir", str(data_dir))
    assert code == 2 and "check --repair" in err and "Traceback" not in err

    code, out, err = run(capsys, "check", "--repair", "--data-dir", str(data_dir))
    print(out)
    assert code == 0, out + err
    assert "restored the catalog from the backup of" in out
    assert "rebuilt the vector index from the catalog: 8 photos" in out
    assert "indexed 1," in err  # the photo added after the backup is indexed again
    assert out.strip().endswith("healthy")
    assert list(data_dir.glob(f"{CATALOG_FILE}.damaged-*"))  # the damaged file is kept
    with Library(data_dir, writable=False) as lib:
        assert lib.catalog.counts()["indexed"] == 9
    query = save_jpeg(mirror(Image.open(photo_dir / "later.jpg").convert("RGB")), tmp_path / "q.jpg")
    code, out, _ = run(capsys, "search", str(query), "-k", "1", "--all", "--data-dir", str(data_dir))
    assert code == 0 and out.strip().endswith(str(photo_dir / "later.jpg"))


def test_without_a_backup_the_readable_rows_are_salvaged(capsys, full_photo_dir: Path, data_dir: Path) -> None:  # noqa: ANN001
    code, _, _ = run(capsys, "index", str(full_photo_dir), "--data-dir", str(data_dir))
    assert code == 0
    total = len(list(full_photo_dir.glob("*.jpg")))
    shutil.rmtree(data_dir / "backups")
    damage_middle(data_dir / CATALOG_FILE)
    code, out, err = run(capsys, "check", "--repair", "--data-dir", str(data_dir))
    assert code == 0, out + err
    assert "no usable backup: salvaged" in out
    with Library(data_dir, writable=False) as lib:
        assert lib.catalog.counts()["indexed"] == total  # salvaged rows plus the re-scan
        assert lib.catalog.integrity_problems() == []


def test_a_catalog_that_is_not_a_database_any_more(capsys, photo_dir: Path, data_dir: Path) -> None:  # noqa: ANN001
    run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
    damage_header(data_dir / CATALOG_FILE)
    report = check_library(data_dir)
    assert not report.healthy and report.catalog_damaged
    code, _, err = run(capsys, "status", "--data-dir", str(data_dir))
    assert code == 2 and "check --repair" in err
    code, out, err = run(capsys, "check", "--repair", "--data-dir", str(data_dir))
    assert code == 0, out + err
    with sqlite3.connect(data_dir / CATALOG_FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM photos WHERE state = 'indexed'").fetchone()[0] == 8


def test_a_damaged_index_is_rebuilt_without_the_model(capsys, photo_dir: Path, data_dir: Path,  # noqa: ANN001
                                                      monkeypatch) -> None:  # noqa: ANN001
    run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
    from photosim.core.embedder import resolve_backbone
    from photosim.core.library import index_file_name

    index_file = data_dir / index_file_name(resolve_backbone(None).model_id)
    damage_middle(index_file) if index_file.stat().st_size >= 4 * 4096 else index_file.write_bytes(b"x" * 100)
    code, out, _ = run(capsys, "check", "--data-dir", str(data_dir))
    assert code == 1 and "checksum does not match" in out
    code, out, err = run(capsys, "check", "--repair", "--data-dir", str(data_dir))
    assert code == 0 and "rebuilt the vector index from the catalog: 8 photos, no photo re-embedded" in out
    assert "indexed 0," in err


def test_salvage_keeps_the_duplicate_decisions_and_the_clean_up_journal(tmp_path: Path) -> None:
    """What a person decided ("not duplicates") and did (the journal undo reads) cannot be redone by a
    re-scan, so a salvage carries it over with the photo rows."""
    from photosim.core.health import salvage_rows

    source = tmp_path / "old.sqlite3"
    with Catalog(source) as cat:
        decision = cat.add_dup_decision("not_duplicates", "same", ["fp-a", "fp-b"])
        cat.journal_add(1, "trash", path="/p/a.jpg", target="/trash/a.jpg", fingerprint="fp-a")
    salvage_rows(source, tmp_path / "new.sqlite3")
    with Catalog(tmp_path / "new.sqlite3") as cat:
        assert cat.dup_decisions() == [(decision, "not_duplicates", "same", ["fp-a", "fp-b"])]
        assert cat.next_journal_batch() == 2
