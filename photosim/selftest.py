"""``photosim --self-test``: prove that an installed copy works, end to end, without a person watching.

Why it exists: the packaging build must check what it built, not the source tree. The self-test opens
the real main window (offscreen is fine), adds the bundled sample photos (copied into a temporary
folder) to a temporary library, lets the app's own background worker index them with whatever model
runtime is installed (onnxruntime in the installer), asks the window to find photos similar to edited
copies of two samples, and checks that the original comes first. It exits 0 on success and 1 with a
one-line reason otherwise, and reports how long the window took to appear after the process started
(the cold start a user sees).

``--no-window`` runs the same index-and-query check through the engine alone (no Qt), for machines or
CI steps without a Qt platform.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

SAMPLES_ENV = "PHOTOSIM_SAMPLES_DIR"
#: One sample is HEIC and one DNG, so the self-test also proves that the installed app reads iPhone
#: photos (pi-heif, through the embedded thumbnail path) and camera RAW files (rawpy).
SAMPLE_SUFFIXES = (".jpg", ".heic", ".dng")
_IMPORTED_AT = time.monotonic()

log = logging.getLogger(__name__)


class SelfTestError(Exception):
    """The self-test found the app not working; the message says what failed."""


@dataclass
class SelfTestReport:
    ok: bool = False
    runtime: str = ""
    device: str = ""
    model_id: str = ""
    photos: int = 0
    indexed: int = 0
    window_shown_s: float | None = None
    model_ready_s: float | None = None
    indexed_s: float | None = None
    total_s: float | None = None
    queries: list[dict[str, object]] = field(default_factory=list)
    error: str = ""


# Each query is an edited copy of a sample (as a user would crop, mirror, shrink or re-save a photo);
# the sample itself must come first among the results.
QUERIES: list[tuple[str, str]] = [("interior-2416933.jpg", "crop+jpeg"), ("chelsea.jpg", "mirror+half")]


def seconds_since_process_start() -> float:
    """Wall time since this process began (the bootloader of a frozen app included), where knowable."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5), counted after the command name
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT  # other platforms: since this module was imported


def samples_dir() -> Path:
    """The bundled sample photos: ``$PHOTOSIM_SAMPLES_DIR``, else ``resources/samples`` beside the package.

    In a PyInstaller bundle the package lies in ``_internal/photosim``, and the spec puts the samples in
    ``_internal/resources/samples``: the same relative path as in the source tree.
    """
    if os.environ.get(SAMPLES_ENV):
        return Path(os.environ[SAMPLES_ENV])
    return Path(__file__).resolve().parent.parent / "resources" / "samples"


def edited_copy(image: Image.Image, edit: str) -> Image.Image:
    image = image.convert("RGB")
    for step in edit.split("+"):
        if step == "crop":
            w, h = image.size
            image = image.crop((w // 10, h // 10, w - w // 10, h - h // 10))
        elif step == "mirror":
            image = ImageOps.mirror(image)
        elif step == "half":
            image = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)
        elif step == "jpeg":
            pass  # applied when saving
        else:  # pragma: no cover - programming error
            raise ValueError(step)
    return image


def _prepare(work: Path) -> tuple[Path, list[tuple[Path, str]]]:
    """Copy the samples into ``work/photos``; write the edited queries into ``work/queries``."""
    source = samples_dir()
    photos = sorted(p for p in source.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES) if source.is_dir() else []
    if len(photos) < 4:
        raise SelfTestError(f"no sample photos in {source} (set {SAMPLES_ENV})")
    folder = work / "photos"
    folder.mkdir(parents=True)
    for p in photos:
        shutil.copy2(p, folder / p.name)
    queries = []
    (work / "queries").mkdir()
    for name, edit in QUERIES:
        with Image.open(folder / name) as im:
            edited = edited_copy(im, edit)
        target = work / "queries" / f"query-{Path(name).stem}.jpg"
        edited.save(target, "JPEG", quality=50 if "jpeg" in edit else 90)
        queries.append((target, name))
    return folder, queries


def _check_results(report: SelfTestReport, query: Path, expected: str, paths: list[str], scores: list[float]) -> None:
    top = Path(paths[0]).name if paths else "(nothing)"
    report.queries.append({"query": query.name, "expected": expected, "first": top,
                           "score": round(scores[0], 4) if scores else None})
    if top != expected:
        raise SelfTestError(f"searching with {query.name} found {top} first, expected {expected}")


def run_self_test(*, window: bool = True, screenshot: str | None = None, timeout: float = 300.0,
                  keep: bool = False) -> int:
    """Run the self-test; print a summary line (JSON) and return the exit code."""
    report = SelfTestReport()
    work = Path(tempfile.mkdtemp(prefix="photosim-selftest-"))
    try:
        if window:
            _window_test(report, work, screenshot, timeout)
        else:
            folder, queries = _prepare(work)
            report.photos = sum(1 for p in folder.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)
            _engine_test(report, work, folder, queries)
        report.ok = True
    except SelfTestError as exc:
        report.error = str(exc)
    except Exception as exc:  # anything else is a broken install too: say so, do not crash
        log.exception("self-test crashed")
        report.error = f"{type(exc).__name__}: {exc}"
    finally:
        report.total_s = round(seconds_since_process_start(), 3)
        if keep:
            print(f"self-test: files kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if report.window_shown_s is not None:
        print(f"self-test: window shown {report.window_shown_s:.2f} s after the process started")
    for q in report.queries:
        print(f"self-test: {q['query']} -> {q['first']} (score {q['score']})")
    print("self-test: " + json.dumps(asdict(report)))
    if not report.ok:
        print(f"photosim: self-test FAILED: {report.error}", file=sys.stderr)
        return 1
    print(f"self-test: OK ({report.indexed} photos indexed with {report.runtime} on {report.device})")
    return 0


def _engine_test(report: SelfTestReport, work: Path, folder: Path, queries: list[tuple[Path, str]]) -> None:
    """The engine through the same library service as the app and the command line (no Qt)."""
    from .core.runtime import chosen_runtime
    from .core.service import Query, close_service, open_service

    report.runtime = chosen_runtime()
    service = open_service(work / "data", watch=False, reconcile_interval=None, workers=2)
    try:
        service.add_folder(str(folder))
        service.start(initial_scan=False)
        if not service.wait_idle(timeout=300):
            raise SelfTestError("timed out indexing the sample photos")
        result = service.last_report
        if service.last_failure is not None:
            raise SelfTestError(f"indexing failed: {service.last_failure}")
        assert result is not None
        report.device = service.device or ""
        report.model_id = service.model_id
        report.indexed = result.indexed
        report.indexed_s = round(seconds_since_process_start(), 3)
        if result.indexed != report.photos:
            raise SelfTestError(f"indexed {result.indexed} of {report.photos} sample photos: {result.failures}")
        for query, expected in queries:
            results = service.search(Query("file", str(query), query.name), 3).results
            _check_results(report, query, expected, [r.path for r in results], [r.score for r in results])
    finally:
        close_service(service)


def _window_test(report: SelfTestReport, work: Path, screenshot: str | None, timeout: float) -> None:
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from .core.runtime import chosen_runtime
    from .core.service import close_service, open_service
    from .core.settings import Settings
    from .gui.main_window import MainWindow
    from .gui.theme import apply_theme

    report.runtime = chosen_runtime()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "photosim"])
    assert isinstance(app, QApplication)
    app.setApplicationName("photosim")
    apply_theme(app)
    deadline = time.monotonic() + timeout
    settings = Settings()
    service = open_service(work / "data", device=settings.device)
    win = MainWindow(service, settings)
    events: dict[str, list[object]] = {"model": [], "failed": [], "finished": [], "results": [], "query_failed": []}

    def model_loaded(event: object) -> None:
        events["model"].append(getattr(event, "device", ""))
        report.model_ready_s = round(seconds_since_process_start(), 3)

    win.bridge.model_loaded.connect(model_loaded)
    win.bridge.failed.connect(lambda message, details: events["failed"].append(details or message))
    win.indexing_finished.connect(lambda rep: events["finished"].append(rep))
    win.results_shown.connect(lambda results: events["results"].append(results))
    win.query_failed.connect(lambda message: events["query_failed"].append(message))

    def wait(what: str, done: Callable[[], bool]) -> None:
        while not done():
            if events["failed"]:
                raise SelfTestError(f"the app's worker failed: {str(events['failed'][0]).strip().splitlines()[-1]}")
            if events["query_failed"]:
                raise SelfTestError(f"a query failed: {events['query_failed'][0]}")
            if time.monotonic() > deadline:
                raise SelfTestError(f"timed out waiting for {what}")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)

    try:
        win.show()
        wait("the window to be shown", lambda: win.windowHandle() is not None and win.windowHandle().isExposed())
        app.processEvents()
        report.window_shown_s = round(seconds_since_process_start(), 3)
        # Only now the sample copies: the time to a visible window must be what a user waits for.
        folder, queries = _prepare(work)
        report.photos = sum(1 for p in folder.iterdir() if p.suffix.lower() in SAMPLE_SUFFIXES)
        service.start()
        win.add_folders([str(folder)])

        def all_indexed() -> bool:
            counts = service.snapshot.counts
            return counts.get("indexed", 0) + counts.get("failed", 0) >= report.photos and not service.busy

        wait("the sample photos to be indexed", all_indexed)
        counts = service.snapshot.counts
        report.indexed = int(counts.get("indexed", 0))
        report.indexed_s = round(seconds_since_process_start(), 3)
        if events["model"]:
            report.device = str(events["model"][0])
        report.model_id = service.model_id
        if report.indexed != report.photos:
            failures = [f"{r.path}: {r.error}" for r in service.failures()]
            raise SelfTestError(f"indexed {report.indexed} of {report.photos} sample photos: {failures}")
        for query, expected in queries:
            before = len(events["results"])
            win.find_similar_to_file(str(query))
            wait(f"results for {query.name}", lambda before=before: len(events["results"]) > before)
            results = events["results"][-1]
            assert isinstance(results, list)
            _check_results(report, query, expected, [r.path for r in results], [r.score for r in results])
        if screenshot:
            settle = time.monotonic() + 1.5  # let the thumbnails arrive before the picture is taken
            wait("thumbnails", lambda: time.monotonic() > settle)
            win.grab().save(screenshot)
    finally:
        win.shutdown()
        win.close()
        close_service(service)
        app.processEvents()


def main(argv: list[str]) -> int:
    """Entry from ``photosim --self-test`` (argv are the options after it)."""
    import argparse

    parser = argparse.ArgumentParser(prog="photosim --self-test")
    parser.add_argument("--no-window", action="store_true", help="check the engine only (no Qt)")
    parser.add_argument("--screenshot", metavar="PNG", help="save a picture of the window with the results")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (for a post-mortem)")
    args = parser.parse_args(argv)
    return run_self_test(window=not args.no_window, screenshot=args.screenshot, timeout=args.timeout, keep=args.keep)
