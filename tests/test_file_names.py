"""File names that are not valid UTF-8 (Latin-1 names from old Windows drives and Samba shares).

They used to stop ``photosim index`` with a UnicodeEncodeError before anything was indexed. Now they
are indexed, shown with replacement characters, searched, opened and round-tripped to the exact
bytes on disk, and JSON output stays valid JSON.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.photos import mirror, odd_path, save_jpeg


def test_the_command_line_indexes_searches_and_prints_exact_bytes(odd_dir: Path, tmp_path: Path) -> None:
    env = dict(os.environ, PHOTOSIM_DATA_DIR=str(tmp_path / "data"), LC_ALL="C.UTF-8")
    cmd = [sys.executable, "-m", "photosim"]
    done = subprocess.run([*cmd, "index", str(odd_dir)], env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert b"indexed 8," in done.stderr and b"failed 0" in done.stderr and b"Traceback" not in done.stderr

    query = save_jpeg(mirror(Image.open(odd_path(odd_dir)).convert("RGB")), tmp_path / "q.jpg")
    done = subprocess.run([*cmd, "search", str(query), "-k", "1", "--all"], env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip().split(b"  ", 1)[1]
    assert printed == os.fsencode(odd_path(odd_dir))  # the exact bytes: `xargs` finds the file

    done = subprocess.run([*cmd, "search", str(query), "-k", "1", "--all", "--json"], env=env, capture_output=True,
                          timeout=600)
    answer = json.loads(done.stdout.decode("utf-8"))  # valid UTF-8 JSON
    top = answer["results"][0]
    assert "\ufffd" in top["path"] and top["path"].endswith("au lait \ufffd Paris.jpg")
    assert base64.b64decode(top["path_b64"]) == os.fsencode(odd_path(odd_dir))
    assert os.path.exists(os.fsdecode(base64.b64decode(top["path_b64"])))

    done = subprocess.run([*cmd, "status", "--json"], env=env, capture_output=True, timeout=600)
    status = json.loads(done.stdout.decode("utf-8"))
    assert status["counts"]["indexed"] == 8


def test_the_catalog_round_trips_the_bytes(library, odd_dir: Path) -> None:  # noqa: ANN001
    from photosim.core.indexer import Indexer

    library.catalog.add_folder(str(odd_dir))
    report = Indexer(library).run()
    assert report.indexed == 8 and report.failed == 0
    row = library.catalog.get_by_path(odd_path(odd_dir))
    assert row is not None and row.path == odd_path(odd_dir)
    stored = library.catalog.query("SELECT path FROM photos WHERE id = ?", (row.id,))[0][0]
    assert stored == os.fsencode(odd_path(odd_dir))  # BLOB: the name's very bytes
