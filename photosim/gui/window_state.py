"""The window's size, place and panel widths, kept between runs.

Not a setting (nothing a person picks in a dialog): Qt's own opaque blobs (``saveGeometry``, the
splitter's ``saveState``), base64 in a small JSON file beside the settings, written atomically when
the window closes. A missing, damaged or foreign file only means the default layout; Qt refuses a
geometry that would put the window off every screen.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QMainWindow, QSplitter

from ..core.atomic import replacing

log = logging.getLogger(__name__)

STATE_FILE = "window-state.json"


def state_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / STATE_FILE


def save_window_state(data_dir: str | os.PathLike[str], window: QMainWindow, splitter: QSplitter) -> None:
    state = {
        "geometry": bytes(window.saveGeometry().toBase64().data()).decode("ascii"),
        "splitter": bytes(splitter.saveState().toBase64().data()).decode("ascii"),
    }
    path = state_path(data_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            json.dump(state, fh)
    except OSError as exc:  # a full disk or a read-only folder: the next start uses the default layout
        log.warning("cannot save the window's layout: %s", exc)


def restore_window_state(data_dir: str | os.PathLike[str], window: QMainWindow, splitter: QSplitter) -> bool:
    """Put the window and its panels back as they were; False (default layout) when nothing usable is saved."""
    try:
        state = json.loads(state_path(data_dir).read_text(encoding="utf-8"))
        geometry = QByteArray.fromBase64(str(state["geometry"]).encode("ascii"))
        panels = QByteArray.fromBase64(str(state["splitter"]).encode("ascii"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("window layout not restored (%s): the default one is used", exc)
        return False
    restored = window.restoreGeometry(geometry)
    return splitter.restoreState(panels) and restored
