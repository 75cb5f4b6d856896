"""Shared fixtures: real photos on disk, one real model for the whole session, isolated libraries."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.photos import sample_images, save_jpeg

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the real user data folder.

    Nor export a model graph for quick queries after each command-line search (a few seconds each):
    tests/test_quick_queries.py turns the cache back on for its own processes.
    """
    monkeypatch.setenv("PHOTOSIM_DATA_DIR", str(tmp_path_factory.mktemp("default-data")))
    monkeypatch.setenv("PHOTOSIM_QUERY_GRAPH", "0")


@pytest.fixture(scope="session")
def originals_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of real photos as JPEG files (written once per session; copy before changing)."""
    folder = tmp_path_factory.mktemp("originals")
    for name, image in sample_images().items():
        save_jpeg(image, folder / f"{name}.jpg")
    return folder


SMALL_SET = ("chelsea", "coffee", "astronaut", "rocket", "china", "flower", "motorcycle_left", "retina")


@pytest.fixture
def photo_dir(tmp_path: Path, originals_dir: Path) -> Path:
    """A private, writable folder of eight real photos for one test (small, so the suite stays fast)."""
    target = tmp_path / "photos"
    target.mkdir()
    for name in SMALL_SET:
        shutil.copy(originals_dir / f"{name}.jpg", target / f"{name}.jpg")
    return target


@pytest.fixture
def full_photo_dir(tmp_path: Path, originals_dir: Path) -> Path:
    """A private copy of all the sample photos (about twenty), for retrieval-quality tests."""
    target = tmp_path / "all-photos"
    shutil.copytree(originals_dir, target)
    return target


@pytest.fixture(scope="session")
def embedder():  # noqa: ANN201 - photosim.core.embedder.Embedder
    """The real model, loaded once for the whole session."""
    from photosim.core.embedder import Embedder

    return Embedder(device="cpu")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def library(data_dir: Path, embedder) -> Iterator:  # noqa: ANN001
    from photosim.core.library import Library

    lib = Library(data_dir, embedder=embedder)
    yield lib
    lib.close()


@pytest.fixture
def odd_dir(tmp_path: Path, photo_dir: Path) -> Path:
    """The sample photos, one of them (coffee) under a Latin-1 name in a Latin-1 folder."""
    from tests.photos import LATIN1_FOLDER, LATIN1_NAME

    folder = tmp_path / "odd"
    shutil.copytree(photo_dir, folder)
    sub = os.path.join(os.fsencode(folder), LATIN1_FOLDER)
    os.mkdir(sub)
    os.rename(os.fsencode(folder / "coffee.jpg"), os.path.join(sub, LATIN1_NAME))
    return folder


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real file system mounted on an empty folder, as a drive is (needs the right to mount: root,
    as in CI). The test may unmount and mount it again (``mount -t tmpfs tmpfs PATH``)."""
    import subprocess

    point = tmp_path / "mnt"
    point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point)],
                      capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs is not allowed here")
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True)
