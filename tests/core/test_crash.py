"""Crash safety: `photosim index` killed with SIGKILL at any moment leaves a consistent library.

A SIGKILL is what a power cut, an OOM kill or a force-quit looks like to the process: no cleanup
code runs. After each kill the library must open, hold every photo once, have an index that matches
the catalog, and the next run must finish without redoing committed work.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from photosim.core.indexer import Indexer
from photosim.core.library import Library
from tests.photos import crop_center, mirror, save_jpeg

pytestmark = pytest.mark.slow


def _indexed_count(data_dir: Path) -> int:
    path = data_dir / "catalog.sqlite3"
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM photos WHERE state = 'indexed'").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _start(folder: Path, data_dir: Path, crash_at: str | None = None) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PHOTOSIM_DATA_DIR=str(data_dir))
    env.pop("PHOTOSIM_CRASH_AT", None)
    if crash_at:
        env["PHOTOSIM_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "photosim", "index", str(folder), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _check_consistent(data_dir: Path, embedder) -> tuple[int, list[str]]:  # noqa: ANN001
    """Open the library as a user would and check every invariant; return (indexed, index events)."""
    with Library(data_dir, embedder=embedder) as lib:
        assert lib.catalog.integrity_problems() == []
        paths = lib.catalog.all_paths()
        assert len(paths) == len(set(paths)), "a photo appears twice"
        want = sorted(lib.catalog.indexed_ids(lib.model_id).tolist())
        assert sorted(lib.index.keys().tolist()) == want, "index does not match the catalog"
        return len(want), list(lib.index_events)


def test_sigkill_at_random_moments_and_at_every_crash_point(
    tmp_path: Path, originals_dir: Path, embedder  # noqa: ANN001
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for original in sorted(originals_dir.glob("*.jpg")):
        image = Image.open(original).convert("RGB")
        image.save(folder / original.name)
        save_jpeg(mirror(image), folder / f"{original.stem}-mirrored.jpg")
        save_jpeg(crop_center(image, 0.7), folder / f"{original.stem}-cropped.jpg")
    total = len(list(folder.glob("*.jpg")))
    data_dir = tmp_path / "data"
    rng = random.Random(20261121)

    committed = 0
    killed_mid_run = 0
    trials = 0
    while trials < 4 and committed < total:
        trials += 1
        proc = _start(folder, data_dir)
        deadline = time.monotonic() + 300
        while _indexed_count(data_dir) <= committed and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.3))  # somewhere in the middle of embedding, committing or saving
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait(60)
        now, _events = _check_consistent(data_dir, embedder)
        assert now >= committed, "committed work was lost"
        committed = now
    assert killed_mid_run >= 1

    def add_photos(tag: str, edit) -> int:  # noqa: ANN001
        """New work for the next run, so each crash point is reached with something to commit."""
        for original in sorted(originals_dir.glob("*.jpg"))[:3]:
            save_jpeg(edit(Image.open(original).convert("RGB")), folder / f"{original.stem}-{tag}.jpg")
        return 3

    # Deterministic crash points: inside a catalog commit, and on both sides of the index file's rename.
    total += add_photos("grey", lambda im: im.convert("L").convert("RGB"))
    proc = _start(folder, data_dir, crash_at="catalog-commit")
    assert proc.wait(300) == -signal.SIGKILL
    now, _ = _check_consistent(data_dir, embedder)
    assert now == committed  # the interrupted batch rolled back, nothing else changed

    total += add_photos("small", lambda im: im.resize((im.width // 3, im.height // 3)))
    proc = _start(folder, data_dir, crash_at="index-save-before-rename")
    assert proc.wait(300) == -signal.SIGKILL
    assert list(data_dir.glob("*.tmp"))  # the killed save left its temp file behind...
    now, events = _check_consistent(data_dir, embedder)
    assert not list(data_dir.glob("*.tmp"))  # ...which the next writer cleans up
    assert now == total  # every photo was committed before the save
    assert any("no re-embedding" in e or "repaired" in e for e in events)

    total += add_photos("flipped", lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    proc = _start(folder, data_dir, crash_at="index-save-after-rename")
    assert proc.wait(300) == -signal.SIGKILL
    now, events = _check_consistent(data_dir, embedder)
    assert now == total
    assert events == []  # the renamed file was recorded as "next" before the rename: no rebuild needed

    with Library(data_dir, embedder=embedder) as lib:
        report = Indexer(lib).run()
        assert report.embedded == 0 and report.indexed == 0  # nothing committed was redone
        assert lib.catalog.counts() == {"pending": 0, "indexed": total, "failed": 0}
