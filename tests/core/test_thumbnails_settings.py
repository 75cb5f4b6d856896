"""The thumbnail disk cache and the persisted settings (both Qt-free)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from photosim.core.images import ImageLoadError
from photosim.core.settings import Settings, load_settings, save_settings
from photosim.core.thumbnails import ThumbnailCache
from tests.photos import save_sideways_with_exif


def test_thumbnails_are_made_once_then_read_from_disk(tmp_path: Path, originals_dir: Path) -> None:
    photo = tmp_path / "p.jpg"
    shutil.copy(originals_dir / "chelsea.jpg", photo)
    cache = ThumbnailCache(tmp_path / "cache")
    first = cache.get(str(photo))
    assert max(first.size) == cache.pixels
    st = os.stat(photo)
    stored = cache.file_for(str(photo), st.st_size, st.st_mtime_ns)
    assert stored.exists()
    photo.write_bytes(b"")  # the cached thumbnail is used: the (now empty) file is not decoded again
    os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = cache.get(str(photo), st.st_size, st.st_mtime_ns)
    assert again.size == first.size


def test_an_edited_photo_gets_a_new_thumbnail(tmp_path: Path, originals_dir: Path) -> None:
    photo = tmp_path / "p.jpg"
    shutil.copy(originals_dir / "chelsea.jpg", photo)
    cache = ThumbnailCache(tmp_path / "cache")
    before = cache.get(str(photo))
    Image.open(originals_dir / "coffee.jpg").save(photo, "JPEG")
    os.utime(photo, ns=(1, os.stat(photo).st_mtime_ns + 5_000_000_000))
    after = cache.get(str(photo))
    assert after.size != before.size or after.tobytes()[:150] != before.tobytes()[:150]
    assert len(list(cache.root.rglob("*.jpg"))) == 2


def test_thumbnails_are_upright_and_bad_files_raise(tmp_path: Path, originals_dir: Path) -> None:
    upright = Image.open(originals_dir / "rocket.jpg").convert("RGB")  # portrait
    sideways = save_sideways_with_exif(upright, tmp_path / "sideways.jpg")
    thumb = ThumbnailCache(tmp_path / "cache").get(str(sideways))
    assert (thumb.width < thumb.height) == (upright.width < upright.height)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photo")
    with pytest.raises(ImageLoadError):
        ThumbnailCache(tmp_path / "cache").get(str(bad))
    with pytest.raises(ImageLoadError):
        ThumbnailCache(tmp_path / "cache").get(str(tmp_path / "gone.jpg"))


def test_a_damaged_cache_file_is_remade(tmp_path: Path, originals_dir: Path) -> None:
    photo = tmp_path / "p.jpg"
    shutil.copy(originals_dir / "coffee.jpg", photo)
    cache = ThumbnailCache(tmp_path / "cache")
    cache.get(str(photo))
    stored = next(cache.root.rglob("*.jpg"))
    stored.write_bytes(b"garbage")
    assert max(cache.get(str(photo)).size) == cache.pixels
    assert stored.stat().st_size > 1000


def test_settings_round_trip_and_defaults(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == Settings()
    chosen = Settings(device="gpu", results=25, thumb_size=256, excluded=[str(tmp_path / "x"), str(tmp_path / "x")])
    save_settings(tmp_path, chosen)
    loaded = load_settings(tmp_path)
    assert loaded == Settings(device="gpu", results=25, thumb_size=256, excluded=[str(tmp_path / "x")])
    (tmp_path / "settings.json").write_text('{"device": "cuda"}')  # the first version's vocabulary
    assert load_settings(tmp_path).device == "gpu"
    (tmp_path / "settings.json").write_text("[1, 2]")
    assert load_settings(tmp_path) == Settings()


def _age(path: Path, seconds: float) -> None:
    st = os.stat(path)
    os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


def test_pruning_removes_the_thumbnails_of_photos_edited_moved_or_gone(tmp_path: Path, originals_dir: Path) -> None:
    """Long use: every edited, moved or deleted photo left its old thumbnail in the cache for good."""
    photos = {name: tmp_path / f"{name}.jpg" for name in ("kept", "edited", "moved", "deleted")}
    for path in photos.values():
        shutil.copy(originals_dir / "coffee.jpg", path)
    cache = ThumbnailCache(tmp_path / "cache")
    for path in photos.values():
        cache.get(str(path))
    Image.open(originals_dir / "chelsea.jpg").save(photos["edited"], "JPEG")
    os.utime(photos["edited"], ns=(1, os.stat(photos["edited"]).st_mtime_ns + 5_000_000_000))
    photos["moved"].rename(tmp_path / "elsewhere.jpg")
    photos["deleted"].unlink()
    cache.get(str(photos["edited"]))
    cache.get(str(tmp_path / "elsewhere.jpg"))
    leftover = cache.root / "ab" / "0123.jpg.x1y2.tmp"  # what a killed writer leaves behind
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"partial")
    for f in cache.root.rglob("*"):
        if f.is_file():
            _age(f, 7200)
    assert cache.prune_due() and len(list(cache.root.rglob("*.jpg"))) == 6
    live = [(str(p), os.stat(p).st_size, os.stat(p).st_mtime_ns)
            for p in (photos["kept"], photos["edited"], tmp_path / "elsewhere.jpg")]
    files, freed = cache.prune(live)
    assert files == 4 and freed > 0 and not leftover.exists()  # the three stale thumbnails and the leftover
    assert sorted(f.name for f in cache.root.rglob("*.jpg")) == sorted(
        cache.file_for(*stamp).name for stamp in live)
    assert not cache.prune_due()  # the stamp says when: not again for a day
    young = cache.file_for(str(tmp_path / "new.jpg"), 1, 1)  # made a moment ago, for a photo not yet listed
    young.parent.mkdir(parents=True, exist_ok=True)
    young.write_bytes(b"x")
    assert cache.prune(live) == (0, 0) and young.exists()
