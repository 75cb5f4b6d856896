"""``photosim duplicates`` as a user meets it: JSON lines, the plan, the trash, undo, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from tests.photos import crop_center, save_jpeg
from tests.test_cli import _one_line_error, run


@pytest.fixture(autouse=True)
def _shared_model(monkeypatch: pytest.MonkeyPatch, embedder, tmp_path: Path) -> None:  # noqa: ANN001
    """In-process CLI runs reuse the session's model; the trash is a temporary one."""
    monkeypatch.setattr("photosim.core.embedder.Embedder", lambda *a, **k: embedder)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_duplicates_json_plan_trash_and_undo(capsys, photo_dir: Path, data_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    shutil.copy(photo_dir / "chelsea.jpg", photo_dir / "chelsea (copy).jpg")
    save_jpeg(crop_center(Image.open(photo_dir / "coffee.jpg")), photo_dir / "coffee-crop.jpg")
    assert run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))[0] == 0

    code, out, err = run(capsys, "duplicates", "--json", "--data-dir", str(data_dir))
    assert code == 0 and "2 groups (1 exact, 1 same, 0 similar)" in err
    groups = [json.loads(line) for line in out.splitlines()]
    assert [g["tier"] for g in groups] == ["exact", "same"]
    for g in groups:
        assert set(g) == {"tier", "keep", "reason", "photos"} and g["reason"].startswith("keeps ")
        assert g["photos"][0] == {"path": g["keep"], "score": 1.0}
        assert all(set(p) == {"path", "score"} and 0 < p["score"] <= 1 for p in g["photos"])
    assert {p["path"] for p in groups[0]["photos"]} == {str(photo_dir / "chelsea.jpg"), str(photo_dir / "chelsea (copy).jpg")}
    assert groups[1]["keep"] == str(photo_dir / "coffee.jpg")
    assert groups[1]["photos"][1] == {"path": str(photo_dir / "coffee-crop.jpg"), "score": pytest.approx(0.93, abs=0.05)}

    code, out, err = run(capsys, "duplicates", "--tier", "similar", "--json", "--data-dir", str(data_dir))
    assert code == 0 and out == ""  # no groups is not an error

    code, out, err = run(capsys, "duplicates", "--tier", "same", "--trash-suggested", "--dry-run", "--data-dir", str(data_dir))
    assert code == 0 and out.strip() == f"trash {photo_dir / 'coffee-crop.jpg'}  (keeping {photo_dir / 'coffee.jpg'})"
    assert "dry run: nothing moved" in err and (photo_dir / "coffee-crop.jpg").exists()

    code, out, err = run(capsys, "duplicates", "--tier", "exact", "--trash-suggested", "--data-dir", str(data_dir))
    assert code == 0 and "1 photo moved to the trash" in err
    assert not (photo_dir / "chelsea (copy).jpg").exists()
    assert (tmp_path / "xdg" / "Trash" / "files" / "chelsea (copy).jpg").exists()
    code, out, _ = run(capsys, "duplicates", "--tier", "exact", "--json", "--data-dir", str(data_dir))
    assert code == 0 and out == ""

    code, _, err = run(capsys, "duplicates", "--undo", "--data-dir", str(data_dir))
    assert code == 0 and "1 photo restored" in err and (photo_dir / "chelsea (copy).jpg").exists()
    code, out, _ = run(capsys, "duplicates", "--tier", "exact", "--json", "--data-dir", str(data_dir))
    assert len(out.splitlines()) == 1

    code, out, _ = run(capsys, "duplicates", "--folder", str(tmp_path / "elsewhere"), "--data-dir", str(data_dir))
    assert "not inside a watched folder" in _one_line_error(code, _)
    code, _, err = run(capsys, "duplicates", "--trash-suggested", "--data-dir", str(data_dir))
    assert "--trash-suggested needs --tier exact or --tier same" in _one_line_error(code, err)
    assert os.path.exists(photo_dir / "coffee-crop.jpg")


def test_duplicates_on_an_empty_library_is_a_one_line_error(capsys, data_dir: Path) -> None:  # noqa: ANN001
    code, _, err = run(capsys, "duplicates", "--data-dir", str(data_dir))
    assert "the library is empty" in _one_line_error(code, err)
