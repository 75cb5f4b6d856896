"""Results that mean something, in the window: the header's wording, "Show N more", a region of the
query, a dropped or pasted image link, and ``photosim --find`` reaching a running window."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QSize, Qt, QUrl
from PySide6.QtGui import QGuiApplication, QPixmap

from photosim.gui.header import RegionDialog
from tests.gui.test_queries import send_drop
from tests.photos import crop_center, save_jpeg


@pytest.fixture
def web(tmp_path: Path, photo_dir: Path) -> Iterator[str]:
    """A local web server: a real photo (mirrored copy of rocket.jpg), a 404 and an HTML page."""
    root = tmp_path / "site"
    root.mkdir()
    Image.open(photo_dir / "rocket.jpg").convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(
        root / "launch.jpg", "JPEG", quality=85)
    (root / "page.html").write_text("<html><body>not a picture</body></html>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_header_says_copies_and_similar_and_offers_the_rest(qtbot, window, photo_dir: Path,  # noqa: ANN001
                                                                 tmp_path: Path) -> None:
    edited = save_jpeg(crop_center(Image.open(photo_dir / "china.jpg").convert("RGB"), 0.75), tmp_path / "c.jpg")
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        window.find_similar_to_file(str(edited))
    answer = window.results.answer
    shown = blocker.args[0]
    assert shown[0].path == str(photo_dir / "china.jpg") and shown[0].match == "same"
    assert window.header.subtitle.text().startswith(answer.header())
    assert answer.header().startswith("1 copy of this photo")
    assert len(shown) == answer.cutoff < len(answer.results)  # unrelated photos wait behind "Show N more"
    assert window.header.more_button.isVisible()
    assert window.header.more_button.text() == f"Show {answer.more} more"
    with qtbot.waitSignal(window.results_shown, timeout=10_000) as blocker:
        qtbot.mouseClick(window.header.more_button, Qt.MouseButton.LeftButton)
    assert len(blocker.args[0]) == len(answer.results) == window.model.rowCount()
    assert not window.header.more_button.isVisible()


def test_a_long_file_name_does_not_widen_the_window(qtbot, window, photo_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """Found trying the app: beside the photo info panel, "Similar to coffee-cropped.jpg" made the window
    wider than its screen and squeezed the "Only…" field to one letter. The title now gives up its
    middle (the tooltip keeps it all) and the tools sit on a row of their own."""
    name = "IMG_20240603_120233_HDR_portrait_mode_edited_copy_from_the_family_phone.jpg"
    query = save_jpeg(crop_center(Image.open(photo_dir / "coffee.jpg").convert("RGB"), 0.8), tmp_path / name)
    window.resize(1100, 760)
    window.show_info(True)
    qtbot.waitUntil(lambda: window.info_panel.isVisible(), timeout=5_000)
    qtbot.wait(100)
    width = window.width()
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_similar_to_file(str(query))
    qtbot.wait(100)  # layouts settle from the event loop
    assert window.width() == width
    title = window.header.title
    assert title.text() == f"Similar to {name}" and title.toolTip() == title.text()
    assert "…" in title.displayed_text() and title.displayed_text().startswith("Similar to")
    assert window.only_box.width() >= 120 and window.header.subtitle.width() > 300


def test_a_region_of_the_query_searches_again(qtbot, window, photo_dir: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """A group shot made of two photos side by side: a rectangle around one part finds that photo."""
    left = Image.open(photo_dir / "astronaut.jpg").convert("RGB").resize((400, 400))
    right = Image.open(photo_dir / "coffee.jpg").convert("RGB").resize((400, 400))
    collage = Image.new("RGB", (800, 400))
    collage.paste(left, (0, 0))
    collage.paste(right, (400, 0))
    query = save_jpeg(collage, tmp_path / "collage.jpg")
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_similar_to_file(str(query))
    assert window.header.region_button.isVisible()
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        window.results.search_region((400, 0, 400, 400))  # what the region dialog hands over
    assert blocker.args[0][0].path == str(photo_dir / "coffee.jpg")
    assert window.header.title.text() == "Similar to a region of collage.jpg"
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        window.results.search_region((0, 0, 400, 400))
    assert blocker.args[0][0].path == str(photo_dir / "astronaut.jpg")

    # A library photo whose file cannot be read now (its folder offline): its stored vector still
    # answers, but there is no picture to draw a region on, so the button is not offered.
    from photosim.gui import results as results_module
    from photosim.gui.grid import PhotoModel

    photo_id = window.grid.model().index(0).data(PhotoModel.PhotoIdRole)
    monkeypatch.setattr(results_module, "load_preview", lambda source, *a: QPixmap())  # what a missing file gives
    with qtbot.waitSignal(window.results_shown, timeout=60_000):
        window.find_similar_to_photo(photo_id)
    assert not window.header.region_button.isVisible()


def test_the_region_dialog_maps_a_drag_to_picture_pixels(qtbot) -> None:  # noqa: ANN001
    shown = QPixmap(400, 200)  # the picture shown at half its size
    dialog = RegionDialog(shown, QSize(800, 400), "photo.jpg")
    qtbot.addWidget(dialog)
    dialog.show()
    picker = dialog.picker
    assert not dialog.search_button.isEnabled()
    qtbot.mousePress(picker, Qt.MouseButton.LeftButton, pos=QPoint(100, 50))
    qtbot.mouseMove(picker, QPoint(300, 150))
    qtbot.mouseRelease(picker, Qt.MouseButton.LeftButton, pos=QPoint(300, 150))
    assert dialog.region == (200, 100, 400, 200)
    assert dialog.search_button.isEnabled()


def test_a_small_picture_is_shown_large_enough_to_pick_a_region(qtbot) -> None:  # noqa: ANN001
    """Found trying the app: a pasted 150 x 170 image showed at its own size in the region dialog, too
    small to draw a rectangle on. It is enlarged; the region stays in the picture's own pixels."""
    dialog = RegionDialog(QPixmap(150, 170), QSize(150, 170), "the pasted image")
    qtbot.addWidget(dialog)
    dialog.show()
    picker = dialog.picker
    assert (picker.width(), picker.height()) == (352, 400)
    qtbot.mousePress(picker, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
    qtbot.mouseMove(picker, QPoint(186, 210))
    qtbot.mouseRelease(picker, Qt.MouseButton.LeftButton, pos=QPoint(186, 210))
    assert dialog.region == (4, 4, 75, 85)  # in the picture's pixels (150 / 352 of the widget's)


def test_a_dropped_image_link_is_downloaded_and_searched(qtbot, window, photo_dir: Path, web: str) -> None:  # noqa: ANN001
    mime = QMimeData()
    mime.setUrls([QUrl(f"{web}/launch.jpg")])  # what a browser offers when a link is dragged out
    with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
        assert send_drop(window, mime)
    assert blocker.args[0][0].path == str(photo_dir / "rocket.jpg")
    assert "launch.jpg" in window.header.title.text()


def test_a_pasted_link_that_is_no_image_says_so(qtbot, window, web: str) -> None:  # noqa: ANN001
    QGuiApplication.clipboard().setText(f"{web}/page.html")
    with qtbot.waitSignal(window.query_failed, timeout=60_000) as blocker:
        window.paste_action.trigger()
    assert "web page" in blocker.args[0] or "not an image" in blocker.args[0]
    assert window.header.subtitle.text().startswith("Cannot search:")
    with qtbot.waitSignal(window.query_failed, timeout=60_000) as blocker:
        window.find_similar_to_link(f"{web}/missing.jpg")
    assert "404" in blocker.args[0]


def test_find_from_the_file_manager_reaches_the_running_window(qtbot, window, photo_dir: Path,  # noqa: ANN001
                                                               tmp_path: Path) -> None:
    """`photosim --find FILE` while the app runs: the second launch hands the file to this window."""
    from photosim.gui.single_instance import InstanceServer, ask_running_instance

    server = InstanceServer(window.service.data_dir)
    assert server.listen()
    server.find_requested.connect(window.find)
    odd = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"flo\xe9 copie.jpg"))  # any name travels exactly
    save_jpeg(crop_center(Image.open(photo_dir / "flower.jpg").convert("RGB"), 0.8), Path(odd))
    try:
        with qtbot.waitSignal(window.results_shown, timeout=60_000) as blocker:
            assert ask_running_instance(window.service.data_dir, find=odd)
        assert blocker.args[0][0].path == str(photo_dir / "flower.jpg")
    finally:
        server.close()


def test_the_desktop_entry_offers_find_similar_for_images() -> None:
    entry = (Path(__file__).resolve().parents[2] / "packaging" / "linux" / "photosim.desktop").read_text()
    assert "Exec=photosim --find %f" in entry and "[Desktop Action FindSimilar]" in entry
    mimes = next(line for line in entry.splitlines() if line.startswith("MimeType=")).split("=", 1)[1].split(";")
    assert {"image/jpeg", "image/heic", "image/png", "image/x-adobe-dng"} <= set(mimes)
    iss = (Path(__file__).resolve().parents[2] / "packaging" / "windows" / "photosim.iss").read_text()
    assert "SystemFileAssociations\\image\\shell\\photosim.findsimilar" in iss and '--find ""%1""' in iss


def test_chips_say_which_scale_a_similar_photo_was_scored_on() -> None:
    """Near copies (copy vector) and look-alikes (look-alike vector) share one list; their chips say
    which, so '0.36' before '0.55' is explained rather than looking like a wrong order."""
    from photosim.core.results import Result, ResultSet
    from photosim.gui.results import chip_kinds

    rows = [Result(1, "/p/a.jpg", 0.91, "same"), Result(2, "/p/b.jpg", 0.36), Result(3, "/p/c.jpg", 0.55),
            Result(4, "/p/d.jpg", 0.50)]
    answer = ResultSet(rows, cutoff=3, same=1, look_alikes=True, near=1)
    assert [r.match for r in chip_kinds(answer, answer.shown)] == ["same", "near", "alike"]
    assert [r.match for r in chip_kinds(answer, answer.results)] == ["same", "near", "alike", "alike"]
    assert [r.score for r in chip_kinds(answer, answer.results)] == [0.91, 0.36, 0.55, 0.50]
    plain = ResultSet(rows, cutoff=2, same=1)  # copy-vector similar photos: one scale, left as they are
    assert chip_kinds(plain, plain.shown) == plain.shown


def test_the_header_says_in_words_which_form_of_the_query_found_its_copies() -> None:
    """The header ends "(found turned 90°)" for a copy saved sideways, "(found by its top left
    quarter)" for one covered in stickers, not the variant's internal name."""
    from photosim.core.results import query_variants
    from photosim.gui.results import found_by_text

    names = [name for name, _ in query_variants(Image.new("RGB", (400, 300)))]
    assert [found_by_text(n) for n in names] == [
        "found turned 90°", "found turned 180°", "found turned 270°", "found by its middle region",
        "found by its central band", "found by its top left quarter", "found by its top right quarter",
        "found by its bottom left quarter", "found by its bottom right quarter"]


def test_the_window_fits_half_a_screen_and_the_duplicates_controls_wrap(qtbot, window) -> None:  # noqa: ANN001
    """Found trying the app: the window could not be narrower than 975 px (the Duplicates page's
    controls in one row, the welcome text on one line), not even half of a 1920 px screen."""
    from PySide6.QtWidgets import QWidget

    assert window.minimumSizeHint().width() <= 720
    window.show_duplicates()
    window.resize(720, 800)
    qtbot.waitUntil(lambda: window.width() == 720)
    view = window.duplicates_view
    qtbot.waitUntil(lambda: view.top_bar.height() > 40)  # wrapped onto a second row
    for bar in (view.top_bar, view.similar_controls):
        controls = [w for w in bar.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
                    if w.isVisible()]
        boxes = [w.geometry() for w in controls]
        assert controls and all(bar.rect().contains(b) for b in boxes), [b.getRect() for b in boxes]
        assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    window.resize(1400, 800)
    qtbot.waitUntil(lambda: view.top_bar.height() < 40)  # one row again where there is room
    # the welcome page's title and text wrap, in full (its text was squeezed and cut at first)
    window.stack.setCurrentWidget(window.welcome)
    window.resize(720, 800)
    qtbot.waitUntil(lambda: window.width() == 720)
    for label in (window.welcome.title, window.welcome.text):
        assert label.width() <= window.welcome.width() and label.height() >= label.heightForWidth(label.width())
