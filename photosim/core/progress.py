"""Progress reporting and run control shared by the CLI, the GUI and the tests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Progress:
    """A snapshot of a long run. ``rate`` is photos per second; ``eta`` seconds left (None: unknown)."""

    phase: str
    done: int
    total: int
    rate: float = 0.0
    eta: float | None = None
    current: str | None = None
    failed: int = 0

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


class RateMeter:
    """Throughput over a sliding window, so the rate and time left follow the recent pace."""

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self._samples: list[tuple[float, int]] = []

    def update(self, done: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window:
            self._samples.pop(0)
        t0, d0 = self._samples[0]
        return (done - d0) / (now - t0) if now > t0 else 0.0


@dataclass
class RunControl:
    """Pause, resume and cancel a run from another thread."""

    _running: threading.Event = field(default_factory=threading.Event)
    _cancelled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait_if_paused(self) -> None:
        while not self._running.wait(0.2):
            pass


def format_size(n: float) -> str:
    """A file size as a person reads it: "0 bytes", "812 bytes", "45 KB", "1.8 MB", "312 MB", "2.4 GB"
    (decimal units, as file managers show them). Small photos, screenshots and thumbnails-as-files
    were shown as "0.0 MB" before."""
    n = max(0.0, float(n))
    if n < 1e3:
        return f"{int(n)} byte{'' if int(n) == 1 else 's'}"
    for unit, scale in (("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12)):
        value = n / scale
        if value < 999.5 or unit == "TB":
            return f"{value:,.1f} {unit}" if value < 9.95 and unit != "KB" else f"{value:,.0f} {unit}"
    raise AssertionError("unreachable")


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "--:--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
