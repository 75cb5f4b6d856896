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
from .keepbest import DEFAULT_RULES, normalize_rules
from .paths import normalize_path

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
DEVICES = DEVICE_CHOICES
THUMB_MIN, THUMB_MAX, THUMB_STEP = 96, 320, 32
RESULTS_MIN, RESULTS_MAX = 1, 1000
SIMILAR_MIN, SIMILAR_MAX = 0.5, 0.99
#: The duplicate finder's default "similar shots" threshold (calibrated by bench/duplicates.py).
SIMILAR_DEFAULT = 0.7


@dataclass
class Settings:
    """What the user chose in the settings dialog (plus the last zoom level)."""

    device: str = "auto"
    results: int = 60
    thumb_size: int = 160
    excluded: list[str] = field(default_factory=list)
    #: The duplicate finder's keep-best rule chain, most important first (photosim/core/keepbest.py).
    keep_rules: list[str] = field(default_factory=lambda: list(DEFAULT_RULES))
    #: Folders whose files are the user's masters: kept first, never moved or trashed by a clean-up.
    reference_folders: list[str] = field(default_factory=list)
    #: Two shots a moment apart are "similar shots" at this similarity or above (the view's slider).
    similar_threshold: float = SIMILAR_DEFAULT

    def normalized(self) -> Settings:
        """A copy with every value inside its allowed range."""
        try:
            device = normalize_choice(self.device if isinstance(self.device, str) else None)
        except EmbedderError:
            device = "auto"
        results = _clamp(self.results, RESULTS_MIN, RESULTS_MAX, 60)
        thumb = _clamp(self.thumb_size, THUMB_MIN, THUMB_MAX, 160)
        rules = list(normalize_rules(self.keep_rules if isinstance(self.keep_rules, list) else None))
        similar = self.similar_threshold
        if isinstance(similar, bool) or not isinstance(similar, (int, float)) or similar != similar:
            similar = SIMILAR_DEFAULT
        similar = round(float(min(SIMILAR_MAX, max(SIMILAR_MIN, similar))), 3)
        return Settings(device=device, results=results, thumb_size=thumb, excluded=_paths(self.excluded),
                        keep_rules=rules, reference_folders=_paths(self.reference_folders), similar_threshold=similar)


def _paths(raw_list: object) -> list[str]:
    """Normalised, de-duplicated folder paths from a settings value (anything else is dropped)."""
    out: list[str] = []
    for raw in raw_list if isinstance(raw_list, list) else []:
        if isinstance(raw, str) and raw.strip():
            path = normalize_path(raw)
            if path not in out:
                out.append(path)
    return out


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
