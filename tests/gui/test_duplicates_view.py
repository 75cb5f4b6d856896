"""The Duplicates view in the real window (offscreen) over a real library of real photos and files.

The library is the duplicate finder's test folder (``tests/core/test_duplicates.py``): an exact copy
(chelsea), edited copies (coffee cropped and mirrored, astronaut as a small PNG), a burst of two
shots a second apart (the stereo motorcycle) and flat pictures. The trash is a temporary freedesktop
trash (``XDG_DATA_HOME`` in the test's folder). Everything is driven as a person would: Ctrl+D, keys,
the slider, the accept-all button with its confirmation; the assertions are about what the window
shows and what happened to the files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from photosim.core.progress import format_size
from tests.core.test_duplicates import build_folder

LONG = 180_000


@pytest.fixture(scope="module")
def dup_source(tmp_path_factory: pytest.TempPathFactory, originals_dir: Path) -> Path:
    return build_folder(tmp_path_factory.mktemp("dups-gui"), originals_dir)


@pytest.fixture
def dup_window(make_window, dup_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot):  # noqa: ANN001, ANN201
    """A window over a private copy of the duplicate photos, indexed, its trash in the test's folder."""
    import shutil

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    photos = tmp_path / "photos"
    shutil.copytree(dup_source, photos)
    window = make_window([photos])
    window.photos = photos  # type: ignore[attr-defined]
    return window


def open_duplicates(window, qtbot) -> None:  # noqa: ANN001
    qtbot.keyClick(window.grid, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.showing_duplicates
    qtbot.waitUntil(lambda: window.duplicates.state.ready and not window.duplicates.running, timeout=LONG)
    assert window.duplicates.pass_error is None


def shown(window) -> list[tuple[str, set[str]]]:  # noqa: ANN001
    return [(g.tier, {p.name for p in g.photos}) for g in window.duplicates_view.shown]


def list_texts(window) -> list[str]:  # noqa: ANN001
    view = window.duplicates_view
    model = view.groups_model
    return [model.data(model.index(i)) for i in range(model.rowCount())]


def member_texts(window) -> list[str]:  # noqa: ANN001
    view = window.duplicates_view
    return [view.members.item(i).text() for i in range(view.members.count())]


def choose_tier(window, tier: str | None) -> None:  # noqa: ANN001
    box = window.duplicates_view.tier_box
    box.setCurrentIndex(box.findData(tier) if tier else 0)


def select_group_with(window, qtbot, name: str) -> None:  # noqa: ANN001
    """Walk the list with the arrow keys (from the top) until the current group holds ``name``."""
    view = window.duplicates_view
    qtbot.keyClick(view, Qt.Key.Key_Home)
    for _ in range(len(view.shown)):
        if any(p.name == name for p in view.current_group().photos):
            return
        qtbot.keyClick(view, Qt.Key.Key_Down)
    raise AssertionError(f"no group holds {name}: {shown(window)}")


def press_and_wait(window, qtbot, key: Qt.Key):  # noqa: ANN001, ANN201
    """A triage key, and the action's result once the service answered and the list followed."""
    with qtbot.waitSignal(window.duplicates.action_finished, timeout=LONG) as blocker:
        qtbot.keyClick(window.duplicates_view, key)
    return blocker.args[0]


def test_ctrl_d_shows_the_groups_and_the_keyboard_triage_works_on_real_files(
        dup_window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    window = dup_window
    photos: Path = window.photos
    open_duplicates(window, qtbot)
    view = window.duplicates_view
    groups = shown(window)
    service_state = window.service.duplicate_state
    assert ("same", {"coffee.jpg", "coffee-crop.jpg", "coffee-mirror.jpg"}) in groups, (
        groups, service_state.serial, window.duplicates.state.serial, service_state.pending_checks,
        [(g.tier, [p.name for p in g.photos]) for g in service_state.groups()])
    assert ("exact", {"chelsea.jpg", "chelsea copy.jpg"}) in groups
    assert ("same", {"coffee.jpg", "coffee-crop.jpg", "coffee-mirror.jpg"}) in groups
    assert ("same", {"astronaut.jpg", "astronaut-small.png"}) in groups
    assert ("similar", {"moto-1.jpg", "moto-2.jpg"}) in groups
    assert not any(n.startswith(("white", "black", "wall")) for _t, names in groups for n in names)
    texts = list_texts(window)
    assert any(t.startswith("Exact copies · 2 photos · ") and " KB to free" in t for t in texts)  # not "0.0 MB"
    assert any(t.startswith("Same photo · 3 photos") for t in texts)
    assert view.totals.text().startswith(f"{len(groups)} groups · ")
    assert "B to free" in view.totals.text()
    # Found trying the app: the totals with a pass's progress pushed the window off its screen.
    narrowest = view.minimumSizeHint().width()
    view.totals.setText(view.totals.text() + "  ·  checking 128 / 601 · 27 pairs/s · 00:18 left" * 3)
    assert view.minimumSizeHint().width() == narrowest and view.totals.toolTip() == view.totals.text()
    # the keeper is marked, with its reason
    select_group_with(window, qtbot, "astronaut-small.png")
    assert view.reason.text().startswith("Keeps astronaut.jpg: ")
    assert member_texts(window)[0].startswith("✓ keep\nastronaut.jpg")
    assert member_texts(window)[1].startswith("→ trash\nastronaut-small.png")

    # A: the suggestion of the exact group moves the copy to the (temporary) system trash
    choose_tier(window, "exact")
    assert [t for t, _ in shown(window)] == ["exact"]
    victim = view.current_group().suggested_trash[0]
    result = press_and_wait(window, qtbot, Qt.Key.Key_A)
    assert result.done == (victim.path,)
    assert not os.path.exists(victim.path)
    assert (tmp_path / "xdg" / "Trash" / "files" / victim.name).exists()
    qtbot.waitUntil(lambda: view.groups_model.rowCount() == 0, timeout=LONG)
    assert view.empty.isVisible() and view.empty.text().startswith("No exact copies found in ")
    assert "moved to the trash" in window.statusBar().currentMessage()

    # Z: undo brings the file back, and its group
    press_and_wait(window, qtbot, Qt.Key.Key_Z)
    assert os.path.exists(victim.path)
    qtbot.waitUntil(lambda: view.groups_model.rowCount() == 1, timeout=LONG)
    assert "restored" in window.statusBar().currentMessage()

    # a file inside a reference folder is never trashed: T on it is refused, and the window says so
    window.service.configure_duplicates(reference_folders=[str(photos / "backup")]).result(timeout=60)
    qtbot.waitUntil(lambda: view.current_group() is not None and view.current_group().keeper.in_reference,
                    timeout=LONG)
    protected = view.current_group().keeper
    result = press_and_wait(window, qtbot, Qt.Key.Key_T)
    assert result.done == () and os.path.exists(protected.path)
    assert "refused" in window.statusBar().currentMessage()
    assert "reference folder" in window.statusBar().currentMessage()

    # N: the astronaut pair is not duplicates; it stays gone after the view is closed and reopened
    choose_tier(window, "same")
    select_group_with(window, qtbot, "astronaut-small.png")
    press_and_wait(window, qtbot, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: not any("astronaut.jpg" in names for _t, names in shown(window)), timeout=LONG)
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not window.showing_duplicates and window.stack.currentWidget() is window.browse_page
    open_duplicates(window, qtbot)
    assert not any("astronaut.jpg" in names for _t, names in shown(window))
    assert any("coffee.jpg" in names for _t, names in shown(window))

    # K: the person's own keeper; A then trashes the others and keeps this one
    select_group_with(window, qtbot, "coffee-mirror.jpg")
    group = view.current_group()
    names = [p.name for p in group.photos]
    qtbot.keyClick(view, Qt.Key.Key_Right)
    chosen = names[1]
    qtbot.keyClick(view, Qt.Key.Key_K)
    assert view.current_group().keeper.name == chosen
    assert member_texts(window)[0].startswith(f"✓ keep\n{chosen}")
    assert view.reason.text() == f"Keeps {chosen}: your choice"
    kept = view.current_group().keeper
    result = press_and_wait(window, qtbot, Qt.Key.Key_A)
    assert os.path.exists(kept.path) and len(result.done) == 2
    assert not any(os.path.exists(p) for p in result.done)


def test_accept_all_summary_slider_regroups_and_compare_zooms_together(
        dup_window, qtbot, qtmodeltester, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    window = dup_window
    # a long pass: its progress in the status bar, with rate, time left and a Cancel that stops it
    from photosim.core.progress import Progress

    cancelled: list[bool] = []
    monkeypatch.setattr(window.service, "cancel_duplicates", lambda: cancelled.append(True))
    window.bridge.duplicates_progressed.emit(Progress("duplicates: checking pairs", 300, 1200, 25.0, 36.0))
    status = window.status
    assert status.dup_text.isVisible() and status.dup_cancel.isVisible()
    assert status.dup_text.text() == "Duplicates: checking pairs 300 / 1,200 · 25 pairs/s · 00:36 left"
    qtbot.mouseClick(status.dup_cancel, Qt.MouseButton.LeftButton)
    assert cancelled and status.dup_text.text() == "Duplicates: stopping…"
    window.bridge.duplicates_progressed.emit(Progress("duplicates: checking pairs", 1200, 1200, 25.0, 0.0))
    assert not status.dup_text.isVisible()

    open_duplicates(window, qtbot)
    view = window.duplicates_view
    qtmodeltester.check(view.groups_model)

    # the slider regroups the similar shots live; the histogram marks where it falls
    choose_tier(window, "similar")
    assert view.similar_controls.isVisible() and sum(view.histogram.counts) >= 1
    assert len(shown(window)) == 1
    burst_score = view.current_group().members[1].score
    view.set_threshold(0.99)
    qtbot.waitUntil(lambda: view.groups_model.rowCount() == 0, timeout=LONG)
    assert view.histogram.threshold == pytest.approx(0.99) and view.slider_value.text() == "0.99"
    assert view.empty.text().startswith("No similar shots found in ")
    lower = round(max(0.5, burst_score - 0.05), 2)
    view.set_threshold(lower)
    qtbot.waitUntil(lambda: view.groups_model.rowCount() == 1, timeout=LONG)
    assert window.settings.similar_threshold == pytest.approx(lower)  # kept as a setting
    choose_tier(window, "exact")
    assert not view.similar_controls.isVisible()

    # the folder filter: only the groups with a photo in that folder
    choose_tier(window, None)
    box = view.folder_box
    box.setCurrentIndex(box.findData(str(window.photos / "burst")))
    assert shown(window) and all(any(p.folder.endswith("burst") for p in g.photos) for g in view.shown)
    assert {t for t, _ in shown(window)} == {"similar"}
    box.setCurrentIndex(0)

    # the compare view: the coffee group side by side; zooming one pane zooms them all
    choose_tier(window, "same")
    select_group_with(window, qtbot, "coffee-crop.jpg")
    with qtbot.waitSignal(view.compare.pictures_loaded, timeout=LONG):
        qtbot.keyClick(view, Qt.Key.Key_Space)
    assert view.comparing
    panes = view.compare.panes
    assert len(panes) == 3 and panes[0].title.text().startswith("✓ keep · ")
    assert all(p.canvas.pixmap is not None for p in panes)
    assert all("dimensions" in p.facts.text() and "folder" in p.facts.text() for p in panes)
    before = [p.canvas.scale() for p in panes]
    canvas = panes[1].canvas
    centre = QPointF(canvas.width() / 2, canvas.height() / 2)
    wheel = QWheelEvent(centre, canvas.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas, wheel)
    after = [p.canvas.scale() for p in panes]
    assert all(a > b * 1.4 for a, b in zip(after, before))  # every pane, not only the one under the wheel
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(60, 80))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(60, 80))
    assert view.compare.sync.cx > 0.5 and view.compare.sync.cy > 0.5
    rects = [p.canvas.target_rect() for p in panes]
    assert all(r.width() > p.canvas.width() for r, p in zip(rects, panes))
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert [p.canvas.scale() for p in panes] == pytest.approx(before)
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # Esc leaves the compare view first, then the Duplicates view
    assert window.showing_duplicates and not view.comparing

    # accept all suggestions of a tier: a summary before anything moves
    asked: list[str] = []

    def answer(parent, title, text, *args):  # noqa: ANN001, ANN002, ANN202
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
    plan_files = [p for g in view.shown for p in g.suggested_trash]
    size = format_size(sum(p.size for p in plan_files))
    with qtbot.waitSignal(window.duplicates.action_finished, timeout=LONG) as blocker:
        assert view.accept_all()
    assert asked and asked[0].startswith(f"Move {len(plan_files)} files, {size} to the trash, from ")
    assert "same photo" in asked[0]
    assert set(blocker.args[0].done) == {p.path for p in plan_files}
    assert not any(os.path.exists(p.path) for p in plan_files)
    qtbot.waitUntil(lambda: view.groups_model.rowCount() == 0, timeout=LONG)


def test_the_folder_filter_offers_the_folders_between(make_window, photo_dir: Path, qtbot) -> None:  # noqa: ANN001
    """A copy two folders down (2019/Summer): the filter offers 2019 as well, and 2019 shows its group."""
    import shutil

    summer = photo_dir / "2019" / "Summer"
    summer.mkdir(parents=True)
    shutil.copy(photo_dir / "china.jpg", summer / "china-beach.jpg")
    window = make_window([photo_dir])
    open_duplicates(window, qtbot)
    box = window.duplicates_view.folder_box
    offered = [box.itemData(i) for i in range(box.count())]
    assert offered[0] is None and str(photo_dir) in offered
    assert str(photo_dir / "2019") in offered and str(summer) in offered
    box.setCurrentIndex(box.findData(str(photo_dir / "2019")))
    assert shown(window) == [("exact", {"china.jpg", "china-beach.jpg"})]
