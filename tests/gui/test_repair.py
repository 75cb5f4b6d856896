"""The app meets a damaged catalog: at start-up it offers the repair in a dialog instead of quitting,
and damage found while it runs reaches the window."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from photosim.core.indexer import Indexer
from photosim.core.library import CATALOG_FILE, Library
from photosim.core.service import CatalogDamagedError, open_service
from photosim.gui.repair import RepairDialog


def test_the_repair_dialog_restores_a_damaged_catalog(qtbot, tmp_path: Path, photo_dir: Path,  # noqa: ANN001
                                                      embedder) -> None:  # noqa: ANN001
    from photosim.core.backup import make_backup

    data = tmp_path / "lib"
    with Library(data, embedder=embedder) as lib:
        lib.catalog.add_folder(str(photo_dir))
        Indexer(lib).run()
        assert make_backup(lib.catalog, data) is not None
    with open(data / CATALOG_FILE, "r+b") as fh:  # the header is gone: not a database any more
        fh.write(b"\0garbage\0" * 12)
    with pytest.raises(CatalogDamagedError) as caught:
        open_service(data)
    dialog = RepairDialog(data, str(caught.value))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.repair_button.text() == "Repair"
    dialog.repair_button.click()
    qtbot.waitUntil(lambda: dialog.succeeded or dialog.repair_button.text() == "Try again", timeout=120_000)
    assert dialog.succeeded, dialog.log.toPlainText()
    assert "restored the catalog from the backup" in dialog.log.toPlainText()
    assert dialog.repair_button.text() == "Open photosim"
    dialog.repair_button.click()
    assert dialog.result() == RepairDialog.DialogCode.Accepted
    service = open_service(data)  # the app goes on opening it
    try:
        assert service.library.catalog.counts()["indexed"] == 8
    finally:
        service.library.close()


def test_damage_found_while_running_reaches_the_window(qtbot, window, monkeypatch) -> None:  # noqa: ANN001
    service = window.service

    def damaged(*args: object, **kwargs: object) -> None:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(service.library.catalog, "photos_in_folder", damaged)
    with qtbot.waitSignal(window.catalog_damaged, timeout=60_000) as blocker:
        service.scan_all()
    assert "check --repair" in blocker.args[0]
    assert service.damaged is not None
    service.scan_all()  # nothing more is written until it is repaired
    assert service.wait_idle(30)
