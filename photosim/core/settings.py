"""The app's persisted preferences, kept as JSON beside the library in the data folder.

Kept in the core (not in ``QSettings``) so the settings travel with the library, the tests can use a
temporary data folder, and a hand-edited or damaged file never stops the app: unknown keys are kept,
bad values fall back to their defaults.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .atomic import replacing
from .devices import DEVICE_CHOICES, normalize_choice
from .embedder import EmbedderError
from .paths import normalize_path

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
DEVICES = DEVICE_CHOICES
THUMB_MIN, THUMB_MAX, THUMB_STEP = 96, 320, 32
RESULTS_MIN, RESULTS_MAX = 1, 1000


@dataclass
class Settings:
    """What the user chose in the settings dialog (plus the last zoom level)."""

    device: str = "auto"
    results: int = 60
    thumb_size: int = 160
    excluded: list[str] = field(default_factory=list)

    def normalized(self) -> Settings:
        """A copy with every value inside its allowed range."""
        try:
            device = normalize_choice(self.device if isinstance(self.device, str) else None)
        except EmbedderError:
            device = "auto"
        results = _clamp(self.results, RESULTS_MIN, RESULTS_MAX, 60)
        thumb = _clamp(self.thumb_size, THUMB_MIN, THUMB_MAX, 160)
        excluded: list[str] = []
        for raw in self.excluded if isinstance(self.excluded, list) else []:
            if isinstance(raw, str) and raw.strip():
                path = normalize_path(raw)
                if path not in excluded:
                    excluded.append(path)
        return Settings(device=device, results=results, thumb_size=thumb, excluded=excluded)


def _clamp(value: object, lo: int, hi: int, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return int(min(hi, max(lo, int(value))))


def settings_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / SETTINGS_FILE


def load_settings(data_dir: str | os.PathLike[str]) -> Settings:
    """Read the settings; a missing or unreadable file gives the defaults (and is logged, not raised)."""
    path = settings_path(data_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s (%s); using default settings", path, exc)
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in raw.items() if k in known}).normalized()


def save_settings(data_dir: str | os.PathLike[str], settings: Settings) -> None:
    """Write atomically, so a crash mid-save leaves the previous settings intact."""
    path = settings_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(settings.normalized())
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
