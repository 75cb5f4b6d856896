"""Helpers shared by the benchmarks: timing, machine description, settings for a quick or a full run."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Settings:
    """Sizes of one benchmark run; ``quick`` keeps every benchmark but shrinks it to a few minutes."""

    out: Path
    cache: Path
    quick: bool = False
    n_jpeg: int = 160
    n_heic: int = 6
    n_png: int = 3
    n_seeds: int = 32
    index_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    compare_size: int = 50_000
    n_queries: int = 200

    @classmethod
    def make(cls, out: Path, cache: Path, quick: bool, full_million: bool = True) -> "Settings":
        if quick:
            return cls(out, cache, True, n_jpeg=48, n_heic=2, n_png=1, n_seeds=12,
                       index_sizes=(10_000,), compare_size=5_000, n_queries=100)
        sizes = (10_000, 100_000, 1_000_000) if full_million else (10_000, 100_000)
        return cls(out, cache, False, index_sizes=sizes)


def cores() -> int:
    return os.cpu_count() or 1


def machine() -> dict[str, object]:
    """What the figures were measured on, including how busy the machine was (it is shared)."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    mem = 0
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cores": cores(),
        "memory_gb": round(mem / 1e9, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_1m": round(load[0], 2),
    }


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50 / p95 in milliseconds."""
    xs = sorted(samples_s)
    if not xs:
        return {"p50_ms": 0.0, "p95_ms": 0.0}
    p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]
    return {"p50_ms": round(statistics.median(xs) * 1000, 2), "p95_ms": round(p95 * 1000, 2), "n": len(xs)}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def warm_files(paths: list[Path]) -> dict[str, float]:
    """Read every file once (into the page cache), so that what is timed next is photosim's work, not
    the disk's; returns how long that took and at what rate. This machine's disk reads a cold file at
    40-200 MB/s: a cold 600-file index spent half its wall clock waiting for it, and a 36 MB RAW file
    takes 70 ms even at 500 MB/s (photosim reads all of it for the content fingerprint)."""
    started = time.perf_counter()
    size = 0
    for p in paths:
        with open(p, "rb") as fh:
            while chunk := fh.read(1 << 22):
                size += len(chunk)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "mb": round(size / 1e6, 1), "mb_per_s": round(size / 1e6 / max(seconds, 1e-9), 1)}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)
