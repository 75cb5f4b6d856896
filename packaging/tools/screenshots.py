"""Take the README's screenshots with the real app: a real window (run it under Xvfb), a real library.

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python packaging/tools/screenshots.py docs/

Builds a library of the offline sample photos (scikit-image, scikit-learn, the interior photos, plus
edited copies so the results show copies), then drives the window the way a person would and saves
what it shows: the library, a query with its copies and look-alikes, a region of a query, a word
search, the Duplicates view and its compare view (an exact copy, edited copies and a burst are in
the library for them). Needs the dev extras (the sample photo packages).

``--only-duplicates`` skips the query screenshots (quicker, for work on the Duplicates view).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(out: Path, only_duplicates: bool = False) -> int:
    from PIL import Image
    from PySide6.QtWidgets import QApplication

    from photosim.core.service import close_service, open_service
    from photosim.core.settings import Settings
    from photosim.gui.app import make_application
    from photosim.gui.main_window import MainWindow
    from tests.photos import crop_center, mirror, sample_images, save_jpeg

    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="photosim-shots-"))
    photos = work / "Pictures"
    images = sample_images(n_interior=30)
    for name, image in images.items():
        save_jpeg(image, photos / f"{name}.jpg")
    save_jpeg(mirror(images["chelsea"]), photos / "edited" / "chelsea-mirrored.jpg")
    save_jpeg(crop_center(images["astronaut"], 0.8), photos / "edited" / "astronaut-crop.jpg")
    # for the Duplicates view: an exact copy, a small export, and a burst of two shots a second apart
    import datetime as dt
    import shutil

    shutil.copy(photos / "coffee.jpg", photos / "backup-coffee.jpg")
    images["astronaut"].resize((256, 256)).save(photos / "edited" / "astronaut-small.png")
    from skimage.data import stereo_motorcycle

    def exif_at(when: dt.datetime) -> Image.Exif:
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Photosim", "Sample camera"
        exif[0x0132] = when.strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(0x8769)[0x9003] = exif[0x0132]
        return exif

    left, right, _ = stereo_motorcycle()
    noon = dt.datetime(2024, 5, 4, 12, 0, 0)
    save_jpeg(Image.fromarray(left), photos / "burst" / "moto-1.jpg", exif=exif_at(noon))
    save_jpeg(Image.fromarray(right), photos / "burst" / "moto-2.jpg", exif=exif_at(noon + dt.timedelta(seconds=1)))
    extra = 6
    app = make_application([sys.argv[0]])
    assert isinstance(app, QApplication)
    service = open_service(work / "data", watch=False)
    window = MainWindow(service, Settings())
    window.resize(1400, 860)
    window.show()

    def wait(condition, timeout: float = 600.0) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the window did not get there in time")
            app.processEvents()
            time.sleep(0.02)

    def settle(seconds: float = 2.0) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    def shot(name: str) -> None:
        settle()
        window.grab().save(str(out / name))
        print(f"saved {out / name}")

    def duplicate_shots() -> int:
        from PySide6.QtCore import Qt

        window.show_duplicates()
        wait(lambda: window.duplicates.state.ready and not window.duplicates.running)
        view = window.duplicates_view
        settle(3)
        shot("duplicates.png")
        row = next((i for i, g in enumerate(view.shown) if g.tier == "same" and len(g.members) >= 2), 0)
        view.set_group_row(row)
        loaded: list[bool] = []
        view.compare.pictures_loaded.connect(lambda: loaded.append(True))
        view.toggle_compare()
        wait(lambda: loaded)
        view.compare.sync.zoom_by(2.5)
        view.compare.sync.pan_to(0.5, 0.3)
        view.setFocus(Qt.FocusReason.OtherFocusReason)
        shot("duplicates-compare.png")
        return 0

    try:
        service.start()
        window.add_folders([str(photos)])
        wait(lambda: service.snapshot.photos >= len(images) + extra and not service.busy)
        settle(4)
        if only_duplicates:
            return duplicate_shots()
        shot("screenshot.png")

        answers: list[object] = []
        window.results_shown.connect(answers.append)
        query = save_jpeg(crop_center(images["chelsea"], 0.7), work / "outside" / "cat-from-a-friend.jpg")
        window.find_similar_to_file(str(query))
        wait(lambda: answers)
        shot("screenshot-results.png")

        left = images["astronaut"].resize((500, 500))
        right = images["coffee"].resize((500, 500))
        collage = Image.new("RGB", (1000, 500))
        collage.paste(left, (0, 0))
        collage.paste(right, (500, 0))
        group = save_jpeg(collage, work / "outside" / "collage.jpg")
        answers.clear()
        window.find_similar_to_file(str(group))
        wait(lambda: answers)
        answers.clear()
        window.results.search_region((500, 0, 500, 500))
        wait(lambda: answers)
        shot("screenshot-region.png")

        answers.clear()
        window.find_by_words("furniture")
        wait(lambda: answers)
        shot("screenshot-words.png")
        return duplicate_shots()
    finally:
        window.shutdown()
        close_service(service)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    sys.exit(main(Path(args[0] if args else "docs"), only_duplicates="--only-duplicates" in sys.argv))
