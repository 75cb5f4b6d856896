"""The command line as a user meets it: output, JSON lines, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from photosim.cli import main
from tests.photos import crop_center, mirror, save_jpeg


@pytest.fixture(autouse=True)
def _shared_model(monkeypatch: pytest.MonkeyPatch, embedder) -> None:  # noqa: ANN001
    """In-process CLI runs reuse the session's model instead of loading it per command."""
    monkeypatch.setattr("photosim.core.embedder.Embedder", lambda *a, **k: embedder)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code: int, err: str) -> str:
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("photosim: error: ")
    return lines[0]


def test_index_then_search_then_status(capsys, photo_dir: Path, data_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    code, out, err = run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
    assert code == 0
    assert "indexed 8, unchanged 0, moved 0, removed 0, failed 0" in err and "images/s" in err

    code, _, err = run(capsys, "--data-dir", str(data_dir), "index")
    assert code == 0 and "indexed 0, unchanged 8" in err

    q1 = save_jpeg(crop_center(Image.open(photo_dir / "chelsea.jpg")), tmp_path / "q1.jpg")
    q2 = save_jpeg(mirror(Image.open(photo_dir / "rocket.jpg")), tmp_path / "q2.jpg")
    code, out, err = run(capsys, "search", str(q1), str(q2), "-k", "3", "--json", "--all", "--data-dir", str(data_dir))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["query"] == str(q1) and second["query"] == str(q2)
    assert first["results"][0]["path"] == str(photo_dir / "chelsea.jpg")
    assert second["results"][0]["path"] == str(photo_dir / "rocket.jpg")
    assert len(first["results"]) == 3 and set(first["results"][0]) == {"path", "score", "match", "reason"}
    assert first["results"][0]["match"] == "same" and first["results"][1]["match"] == "similar"
    assert "matching points" in first["results"][0]["reason"]  # why it is a copy, as the window's tooltip says
    scores = [r["score"] for r in first["results"]]
    assert scores == sorted(scores, reverse=True)

    code, out, _ = run(capsys, "search", str(q1), "-k", "2", "--all", "--data-dir", str(data_dir))
    rows = out.splitlines()
    assert code == 0 and len(rows) == 2 and rows[0].endswith(str(photo_dir / "chelsea.jpg"))

    (photo_dir / "broken.jpg").write_text("nope")
    run(capsys, "index", "--data-dir", str(data_dir))
    code, out, _ = run(capsys, "status", "--json", "--data-dir", str(data_dir))
    status = json.loads(out)
    assert status["counts"] == {"pending": 0, "indexed": 8, "failed": 1}
    assert status["failures"] == [{"path": str(photo_dir / "broken.jpg"), "reason": "not an image, or a format photosim cannot read"}]
    assert status["folders"][0]["path"] == str(photo_dir) and status["folders"][0]["online"]
    assert status["folders"][0]["offline_reason"] is None
    assert status["model"].startswith("efficientnet-lite0") and status["device"] in ("cpu", "cuda", "mps")
    assert status["index"]["vectors"] == 8 and status["index"]["bytes"] > 8 * 512
    assert status["labels"] == {"labelled": 8, "pending": 0}
    code, out, _ = run(capsys, "status", "--data-dir", str(data_dir))
    assert code == 0 and "8 indexed" in out and "broken.jpg" in out
    # Read badly once, fixed without a new size or time (as chmod leaves them): a plain index leaves
    # it failed, --retry-failed reads it again
    good = (photo_dir / "rocket.jpg").read_bytes()
    card = photo_dir / "card.jpg"
    card.write_bytes(good[:200] + bytes(len(good) - 200))
    run(capsys, "index", "--data-dir", str(data_dir))
    stamp = card.stat().st_mtime_ns
    card.write_bytes(good)
    os.utime(card, ns=(stamp, stamp))
    run(capsys, "index", "--data-dir", str(data_dir))
    assert json.loads(run(capsys, "status", "--json", "--data-dir", str(data_dir))[1])["counts"]["failed"] == 2
    code, _, err = run(capsys, "index", "--retry-failed", "--data-dir", str(data_dir))
    assert code == 0 and "indexed 1," in err and "failed 1" in err  # broken.jpg is still broken


def test_folders_add_list_remove(capsys, photo_dir: Path, data_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "folders", "add", str(photo_dir), "--data-dir", str(data_dir))
    assert code == 0 and str(photo_dir) in out
    code, out, _ = run(capsys, "folders", "--data-dir", str(data_dir))
    assert code == 0 and str(photo_dir) in out
    run(capsys, "index", "--data-dir", str(data_dir))
    code, out, _ = run(capsys, "folders", "remove", str(photo_dir), "--data-dir", str(data_dir))
    assert code == 0 and "8 photos removed" in out
    code, out, err = run(capsys, "search", str(photo_dir / "chelsea.jpg"), "--data-dir", str(data_dir))
    assert "empty" in _one_line_error(code, err)


def test_user_errors_are_one_line_and_exit_2(capsys, photo_dir: Path, data_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    code, _, err = run(capsys, "search", str(photo_dir / "chelsea.jpg"), "--data-dir", str(tmp_path / "fresh"))
    assert "empty" in _one_line_error(code, err)  # no library yet
    code, _, err = run(capsys, "index", str(tmp_path / "no-such-folder"), "--data-dir", str(data_dir))
    assert "not a folder" in _one_line_error(code, err)
    # the whole system, or /proc: refused before walking them (virtual, endless)
    code, _, err = run(capsys, "index", "/", "--data-dir", str(data_dir))
    assert "/ is the whole system" in _one_line_error(code, err)
    code, _, err = run(capsys, "folders", "add", "/proc", "--data-dir", str(data_dir))
    assert "/proc is a system folder" in _one_line_error(code, err)
    code, _, err = run(capsys, "index", "--data-dir", str(data_dir))
    assert "no folders" in _one_line_error(code, err)
    run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
    code, _, err = run(capsys, "search", str(tmp_path / "missing.jpg"), "--data-dir", str(data_dir))
    assert "no such file" in _one_line_error(code, err)
    (tmp_path / "text.jpg").write_text("hello")
    code, _, err = run(capsys, "search", str(tmp_path / "text.jpg"), "--data-dir", str(data_dir))
    assert "not an image" in _one_line_error(code, err)
    code, _, err = run(capsys, "search", str(photo_dir), "--data-dir", str(data_dir))
    assert "folder" in _one_line_error(code, err)
    code, _, err = run(capsys, "folders", "remove", str(tmp_path), "--data-dir", str(data_dir))
    assert "not a watched folder" in _one_line_error(code, err)
    code, _, err = run(capsys, "search", str(photo_dir / "chelsea.jpg"), "--folder", str(tmp_path), "--data-dir", str(data_dir))
    assert "not inside a watched folder" in _one_line_error(code, err)
    code, _, err = run(capsys, "search", str(photo_dir / "chelsea.jpg"), "-k", "0", "--data-dir", str(data_dir))
    assert "-k" in _one_line_error(code, err)


def test_second_writer_gets_a_clear_message(capsys, photo_dir: Path, data_dir: Path, embedder) -> None:  # noqa: ANN001
    from photosim.core.library import Library, LibraryBusyError

    with Library(data_dir, embedder=embedder):
        code, _, err = run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
        line = _one_line_error(code, err)
        assert "another photosim process" in line and f"pid {os.getpid()}" in line
        with pytest.raises(LibraryBusyError):
            Library(data_dir, embedder=embedder)
        with Library(data_dir, writable=False, embedder=embedder) as reader:  # readers are never blocked
            assert reader.catalog.counts()["indexed"] == 0
    code, _, _ = run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
    assert code == 0  # the lock went with the first writer


def test_real_process_json_and_stdin(photo_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    """The installed entry point end to end, with image bytes on stdin."""
    env = dict(os.environ, PHOTOSIM_DATA_DIR=str(data_dir))
    cmd = [sys.executable, "-m", "photosim"]
    done = subprocess.run([*cmd, "index", str(photo_dir)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    query = save_jpeg(crop_center(Image.open(photo_dir / "coffee.jpg"), 0.7), tmp_path / "q.jpg")
    done = subprocess.run([*cmd, "search", "-", "-k", "2", "--json"], env=env, input=query.read_bytes(),
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert answer["query"] == "-" and answer["results"][0]["path"] == str(photo_dir / "coffee.jpg")
    done = subprocess.run([*cmd, "search", str(tmp_path / "nothing.jpg")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr


@pytest.fixture
def small_disk(tmp_path: Path):  # noqa: ANN201
    """A real 2 MB file system (tmpfs), so a full disk is a real ENOSPC, not a mock."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a small tmpfs needs root: {done.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_full_disk_is_a_clear_message_and_loses_nothing(capsys, small_disk: Path, originals_dir: Path,  # noqa: ANN001
                                                        embedder, tmp_path: Path) -> None:  # noqa: ANN001
    from photosim.core.library import Library

    photos = tmp_path / "many"
    photos.mkdir()
    for original in sorted(originals_dir.glob("*.jpg")):
        image = Image.open(original).convert("RGB")
        for variant, edit in (("", lambda im: im), ("-m", mirror), ("-c", crop_center)):
            save_jpeg(edit(image), photos / f"{original.stem}{variant}.jpg")
    total = len(list(photos.glob("*.jpg")))
    data_dir = small_disk / "library"
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (2 * 1024 * 1024 - 160 * 1024))  # leave about 160 KB free

    code, _, err = run(capsys, "index", str(photos), "--data-dir", str(data_dir))
    assert code == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("photosim: error: ")]
    assert len(errors) == 1 and err.strip().endswith(errors[0])  # progress lines, then one error line
    assert "full" in errors[0] or "No space" in errors[0]

    filler.unlink()  # the user frees some space
    with Library(data_dir, embedder=embedder) as lib:
        assert lib.catalog.integrity_problems() == []
        committed = lib.catalog.counts()["indexed"]
        assert sorted(lib.index.keys().tolist()) == sorted(lib.catalog.indexed_ids(lib.model_id).tolist())
    code, _, err = run(capsys, "index", "--data-dir", str(data_dir))
    assert code == 0 and f"indexed {total - committed}," in err


def test_search_cutoff_flags_and_region(capsys, photo_dir: Path, data_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """Down to the cutoff by default, everything with --all, a chosen floor with --min-score, a region with --crop."""
    run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
    query = save_jpeg(crop_center(Image.open(photo_dir / "chelsea.jpg"), 0.8), tmp_path / "cat.jpg")
    code, out, err = run(capsys, "search", str(query), "-k", "6", "--data-dir", str(data_dir))
    rows = out.splitlines()
    assert code == 0 and rows[0].endswith(str(photo_dir / "chelsea.jpg")) and len(rows) < 6
    assert "1 copy of this photo" in err and "more with --all" in err
    code, out, _ = run(capsys, "search", str(query), "-k", "6", "--all", "--data-dir", str(data_dir))
    assert len(out.splitlines()) == 6
    code, out, _ = run(capsys, "search", str(query), "-k", "6", "--min-score", "-1", "--json", "--data-dir", str(data_dir))
    answer = json.loads(out)
    assert len(answer["results"]) == 6 and answer["same"] == 1 and answer["similar"] == 5
    assert [r["match"] for r in answer["results"]] == ["same"] + ["similar"] * 5
    code, out, _ = run(capsys, "search", str(query), "--min-score", "0.99", "--json", "--data-dir", str(data_dir))
    assert [r["match"] for r in json.loads(out)["results"]] == ["same"]  # copies are always shown

    w, h = Image.open(photo_dir / "astronaut.jpg").size
    code, out, _ = run(capsys, "search", str(photo_dir / "astronaut.jpg"), "--crop", f"{w // 4},0,{w // 2},{h * 2 // 3}",
                       "-k", "1", "--data-dir", str(data_dir))
    assert code == 0 and out.splitlines()[0].endswith(str(photo_dir / "astronaut.jpg"))
    code, _, err = run(capsys, "search", str(query), "--crop", "10,10,abc", "--data-dir", str(data_dir))
    assert "--crop" in _one_line_error(code, err)
    code, _, err = run(capsys, "search", "http://127.0.0.1:9/nothing.jpg", "--data-dir", str(data_dir))
    assert "cannot reach" in _one_line_error(code, err)


def test_words_labels_and_look_alikes_from_the_command_line(capsys, photo_dir: Path, data_dir: Path) -> None:  # noqa: ANN001
    """issue 12: `search --text`, `search --like`, `--only`, `info`, `words`."""
    shutil.copy(photo_dir / "coffee.jpg", photo_dir / "coffee-copy.jpg")  # a copy reuses the original's labels
    code, _, err = run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
    assert code == 0 and "failed 0" in err

    code, out, _ = run(capsys, "search", "--text", "cats", "--data-dir", str(data_dir))
    assert code == 0 and [Path(line.split()[1]).name for line in out.splitlines()] == ["chelsea.jpg"]
    code, out, _ = run(capsys, "search", "--text", "beverage", "-k", "1", "--json", "--data-dir", str(data_dir))
    found = json.loads(out)
    assert code == 0 and found["query"]["text"] == ["beverage"] and len(found["results"]) == 1
    assert Path(found["results"][0]["path"]).name.startswith("coffee")

    # --folder keeps a word search inside a folder of the library (it was ignored with --text)
    kitchen = photo_dir / "kitchen"
    kitchen.mkdir()
    shutil.copy(photo_dir / "coffee.jpg", kitchen / "coffee-kitchen.jpg")
    code, _, err = run(capsys, "index", "--data-dir", str(data_dir))
    assert code == 0
    code, out, _ = run(capsys, "search", "--text", "beverage", "--folder", str(kitchen), "--data-dir", str(data_dir))
    assert code == 0 and [Path(line.split()[1]).name for line in out.splitlines()] == ["coffee-kitchen.jpg"]
    code, out, err = run(capsys, "search", "--text", "cats", "--folder", str(kitchen), "--data-dir", str(data_dir))
    assert code == 1 and out == "" and "no photo is labelled like that" in err
    code, _, err = run(capsys, "search", "--text", "cats", "--folder", "/nowhere", "--data-dir", str(data_dir))
    assert "not inside a watched folder" in _one_line_error(code, err)
    shutil.rmtree(kitchen)  # the rest of this test expects the library as it was
    code, _, err = run(capsys, "index", "--data-dir", str(data_dir))
    assert code == 0

    code, out, err = run(capsys, "search", "--text", "dog", "--data-dir", str(data_dir))
    assert code == 1 and out == "" and err.strip() == "photosim: no photo is labelled like that: dog"
    code, _, err = run(capsys, "search", "--text", "blorp", "--data-dir", str(data_dir))
    assert code == 1 and "knows no word 'blorp'" in err
    code, _, err = run(capsys, "search", "--text", "cta", "--data-dir", str(data_dir))
    assert code == 1 and "knows no word 'cta' (did you mean 'cat'" in err, err
    # as people type: filler words left out, a word photosim does not know named beside the photos
    code, out, err = run(capsys, "search", "--text", "a", "red", "cat", "in", "the", "photo", "--data-dir", str(data_dir))
    assert code == 0 and [Path(line.split()[1]).name for line in out.splitlines()][0] == "chelsea.jpg"
    assert err.startswith("photosim: left out 'red': photosim finds what photos show, not colours"), err
    code, _, err = run(capsys, "search", "--data-dir", str(data_dir))
    assert "--text" in _one_line_error(code, err)

    code, out, _ = run(capsys, "search", str(photo_dir / "coffee.jpg"), "--like", "-k", "3", "--data-dir", str(data_dir))
    lines = [line.split() for line in out.splitlines()]
    assert code == 0 and lines[0][1:] == ["same", str(photo_dir / "coffee-copy.jpg")] and len(lines) == 3
    assert {kind for _, kind, _ in lines[1:]} == {"alike"}
    code, out, _ = run(capsys, "search", str(photo_dir / "coffee.jpg"), "-k", "3", "--only", "cat", "--data-dir", str(data_dir))
    assert code == 0 and [Path(line.split()[1]).name for line in out.splitlines()] == ["chelsea.jpg"]
    code, _, err = run(capsys, "search", str(photo_dir / "coffee.jpg"), "--only", "blorp", "--data-dir", str(data_dir))
    assert "knows no word" in _one_line_error(code, err)
    code, out, _ = run(capsys, "search", str(photo_dir / "coffee.jpg"), "-k", "3", "--only", "a cat", "--data-dir", str(data_dir))
    assert code == 0 and [Path(line.split()[1]).name for line in out.splitlines()] == ["chelsea.jpg"]
    # words, narrowed: 'or' in either, and no photo that is both a cat and a drink
    _, cats, _ = run(capsys, "search", "--text", "cat", "--data-dir", str(data_dir))
    code, out, _ = run(capsys, "search", "--text", "cat", "or", "beverage", "--only", "mammal or animal",
                       "--data-dir", str(data_dir))
    assert code == 0 and out == cats and "chelsea.jpg" in out
    code, out, err = run(capsys, "search", "--text", "cat", "--only", "beverage", "--data-dir", str(data_dir))
    assert code == 1 and out == "" and err.strip() == "photosim: no photo is labelled like that: cat, only beverage"
    code, out, _ = run(capsys, "search", "--text", "cat", "beverage", "--json", "--data-dir", str(data_dir))
    found = json.loads(out)
    assert code == 0 and found["either"] and found["query"]["groups"] == [["cat", "beverage"]] and found["results"]
    code, _, err = run(capsys, "search", "--text", "cat", "--only", "blorp", "--data-dir", str(data_dir))
    assert "knows no word 'blorp'" in _one_line_error(code, err)

    code, out, _ = run(capsys, "info", str(photo_dir / "chelsea.jpg"), "--json", "--data-dir", str(data_dir))
    info = json.loads(out)
    assert code == 0 and info["analysed"] and "cat" in info["tags"][0]["broader"]
    assert (info["width"], info["height"]) == Image.open(photo_dir / "chelsea.jpg").size
    code, out, _ = run(capsys, "words", "ca", "--data-dir", str(data_dir))
    assert code == 0 and "cat" in [line.split(None, 1)[1] for line in out.splitlines()]


@pytest.mark.slow
def test_watch_keeps_a_folder_indexed_until_sigterm(photo_dir: Path, tmp_path: Path, originals_dir: Path) -> None:
    """`photosim watch` in a real process: indexes, sees a new photo, answers other processes, stops cleanly."""
    import signal
    import time

    env = dict(os.environ, PHOTOSIM_DATA_DIR=str(tmp_path / "data"), XDG_STATE_HOME=str(tmp_path / "state"))
    cmd = [sys.executable, "-m", "photosim"]
    proc = subprocess.Popen([*cmd, "watch", str(photo_dir), "--rescan-minutes", "60"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def indexed() -> int:
            done = subprocess.run([*cmd, "status", "--json"], env=env, capture_output=True, text=True, timeout=120)
            return json.loads(done.stdout)["counts"]["indexed"] if done.returncode == 0 else -1

        deadline = time.monotonic() + 240
        while indexed() < 8 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(1)
        assert indexed() == 8, proc.stderr.read() if proc.poll() is not None else "not indexed in time"
        shutil.copy(originals_dir / "hubble_deep_field.jpg", photo_dir / "new.jpg")
        while indexed() < 9 and time.monotonic() < deadline:
            time.sleep(1)
        assert indexed() == 9  # the watcher saw it; another process reads the library meanwhile
        done = subprocess.run([*cmd, "search", str(photo_dir / "new.jpg"), "-k", "1", "--all"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout.strip()  # searches answer while it runs
        done = subprocess.run([*cmd, "index"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "another photosim process" in done.stderr  # one writer
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "watching the library" in err and "indexed 1," in err and "stopped" in err
    assert (tmp_path / "state" / "photosim" / "log" / "photosim-watch.log").exists()


def test_missing_qt_system_libraries_give_the_apt_line_not_an_abort() -> None:
    """On a minimal Debian or Ubuntu Qt would abort with no traceback; photosim names the packages."""
    from photosim.app_launcher import XCB_LIBRARIES, missing_libraries_message, missing_xcb_packages, uses_xcb

    absent = {"libxcb-cursor.so.0", "libxcb-icccm.so.4"}

    def loader(name: str) -> object:
        if name in absent:
            raise OSError(f"{name}: cannot open shared object file")
        return object()

    missing = missing_xcb_packages(loader)
    assert missing == ["libxcb-cursor0", "libxcb-icccm4"]
    message = missing_libraries_message(missing)
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in message
    assert missing_xcb_packages(lambda name: object()) == []
    assert set(XCB_LIBRARIES.values()) >= {"libxcb-cursor0", "libxkbcommon-x11-0"}
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}) == sys.platform.startswith("linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"})
    assert not uses_xcb({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"})


def test_the_progress_line_says_starting_until_a_rate_is_known() -> None:
    """Found with `photosim index`: '0.0 img/s  --:-- left' while the first photos decoded ahead of the model."""
    import io

    from photosim.cli import ProgressBar
    from photosim.core.progress import Progress

    out = io.StringIO()
    bar = ProgressBar(out)
    bar.update(Progress("indexing", 7, 120))
    bar.update(Progress("indexing", 40, 120, rate=16.2, eta=5.0))
    lines = out.getvalue().splitlines()  # not a terminal: plain lines (the second within 5 s is skipped)
    assert lines == ["[#---------------------------] 7/120 starting..."]
    bar.tty, out = True, io.StringIO()
    bar.stream = out
    bar.update(Progress("indexing", 40, 120, rate=16.2, eta=5.0))
    assert out.getvalue().endswith("40/120  16.2 img/s  00:05 left")


def test_info_on_a_file_that_could_not_be_indexed_says_why(capsys, photo_dir: Path, data_dir: Path) -> None:  # noqa: ANN001
    """Found trying the command line: `info` on a failed file printed "None x None px" and "labels: not yet"."""
    (photo_dir / "empty.jpg").write_bytes(b"")
    code, _, err = run(capsys, "index", str(photo_dir), "--data-dir", str(data_dir))
    assert code == 0 and "failed 1" in err
    code, out, _ = run(capsys, "info", str(photo_dir / "empty.jpg"), "--data-dir", str(data_dir))
    assert code == 0 and "could not be indexed: empty file (0 bytes)" in out and "None" not in out
    code, out, _ = run(capsys, "info", str(photo_dir / "empty.jpg"), "--json", "--data-dir", str(data_dir))
    assert json.loads(out)["state"] == "failed" and "empty file" in json.loads(out)["error"]
    code, out, _ = run(capsys, "info", str(photo_dir / "chelsea.jpg"), "--data-dir", str(data_dir))
    assert code == 0 and "px" in out and "None" not in out


def test_an_unplugged_drive_and_an_empty_mount_point_keep_their_photos(capsys, photo_dir: Path, data_dir: Path,  # noqa: ANN001
                                                                       tmpfs: Path) -> None:
    drive = tmpfs
    for f in photo_dir.iterdir():
        shutil.copy2(f, drive / f.name)
    run(capsys, "index", str(drive), "--data-dir", str(data_dir))
    assert subprocess.run(["umount", str(drive)]).returncode == 0  # an empty mount point is left
    code, out, err = run(capsys, "index", "--data-dir", str(data_dir))
    assert code == 0 and "removed 0" in out + err, (out, err)
    assert f"folder is empty: the drive it was on is not mounted, its photos are kept: {drive}" in err
    code, out, _ = run(capsys, "folders", "--data-dir", str(data_dir))
    assert "(8 indexed, 0 failed)  [offline: folder is empty: the drive it was on is not mounted]" in out
    code, out, _ = run(capsys, "status", "--data-dir", str(data_dir))
    assert "(8 indexed, 0 failed)  [offline: folder is empty: the drive it was on is not mounted]" in out
    code, out, _ = run(capsys, "status", "--json", "--data-dir", str(data_dir))
    folder = json.loads(out)["folders"][0]
    assert not folder["online"] and folder["offline_reason"] == "folder is empty: the drive it was on is not mounted"
    drive.rmdir()  # not even the mount point is there
    code, out, err = run(capsys, "index", "--data-dir", str(data_dir))
    assert code == 0 and "removed 0" in out + err and f"folder is offline or missing, its photos are kept: {drive}" in err


def test_photos_moved_out_of_a_watched_folder_leave_the_library_at_the_next_index(
        capsys, photo_dir: Path, data_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    phone = tmp_path / "phone"
    shutil.copytree(photo_dir, phone)
    run(capsys, "index", str(phone), "--data-dir", str(data_dir))
    (tmp_path / "archive").mkdir()
    for entry in list(phone.iterdir()):  # offloaded to the archive by hand
        shutil.move(str(entry), str(tmp_path / "archive" / entry.name))
    code, out, err = run(capsys, "index", "--data-dir", str(data_dir))
    assert code == 0 and "removed 8" in out + err and "kept" not in err, (out, err)
    code, out, _ = run(capsys, "folders", "--data-dir", str(data_dir))
    assert "(0 indexed, 0 failed)" in out and "offline" not in out
