"""The ``photosim`` command line: index, watch, search, folders, status, check (and, with no command, the app).

Every user error (missing file, not an image, empty library, unknown folder, busy library) is one
line on stderr and exit code 2; never a traceback. Commands that change the library (``index``,
``watch``) run it through the same :class:`~photosim.core.service.LibraryService` as the app.

Paths are printed as the exact bytes of the name on disk (so ``xargs`` and scripts find the file even
when the name is not valid UTF-8); in ``--json`` output such a path is shown with replacement
characters and its exact bytes follow, base64-encoded, as ``path_b64``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from . import __version__

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _add_common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None if top else argparse.SUPPRESS,
        help="library folder (default: $PHOTOSIM_DATA_DIR or the platform's user data folder)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="log details to stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photosim",
        description="Find similar photos in your own photo library. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"photosim {__version__}")
    parser.add_argument("--find", metavar="FILE", nargs="?", const=None, default=None,
                        help="open the app and find photos similar to FILE (a running app comes forward and searches)")
    parser.add_argument("--self-test", action="store_true",
                        help="check that this installation works: index sample photos and query them in the window "
                             "(options: photosim --self-test --help)")
    _add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("index", help="watch folders and bring the index up to date")
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="folders to add to the watched set first")
    p.add_argument("--device", default=None, help="auto, cpu or gpu (default: the app's setting, else auto)")
    p.add_argument("--workers", type=int, default=None, help="decode threads (default: cores - 1)")
    p.add_argument("--wait", action="store_true", help="wait for another writer instead of failing")
    p.add_argument("--retry-failed", action="store_true",
                   help="read the files that could not be read again, even if unchanged (after fixing a permission)")
    _add_common(p)

    p = sub.add_parser("search", help="print the photos most similar to each query image, or labelled like words",
                       description="Copies of the query (the same photo, edited or re-saved) come first, then "
                                   "look-alikes (photos of the same kind of thing), down to where the results "
                                   "stop being meaningful for this query (at most -k). A summary line per query "
                                   "goes to stderr. With --text, photos labelled like the words.")
    p.add_argument("images", nargs="*", metavar="IMAGE",
                   help="image files or http(s) links; '-' reads image bytes from stdin")
    p.add_argument("--text", nargs="+", metavar="WORD",
                   help="photos whose labels match all these words, or either side of 'or' ('fish or bird'); a word covers its kinds: 'dog' finds every breed; 'a', 'of', 'photos'... and words photosim does not know are left out, and named; when no photo has every word, those with one of them are listed, and stderr says so")
    p.add_argument("--like", action="store_true",
                   help="the same list, all -k results, each marked 'same' or 'alike' (kept for scripts written for it)")
    p.add_argument("--only", metavar="WORD", default=None, help="keep only results labelled like WORD (e.g. dog, 'dogs or cats')")
    p.add_argument("-k", type=int, default=10, metavar="N", help="at most this many results per query (default 10)")
    p.add_argument("--all", action="store_true", help="ignore the cutoff: print all -k results")
    p.add_argument("--min-score", type=float, default=None, metavar="S",
                   help="cut off at this score instead of the automatic cutoff (copies are always shown; "
                        "look-alikes are scored by their look-alike cosine)")
    p.add_argument("--crop", default=None, metavar="X,Y,W,H",
                   help="search with this region of the image (pixels of the upright picture as displayed)")
    p.add_argument("--folder", default=None, help="only return photos inside this folder")
    p.add_argument("--json", action="store_true", help="one JSON line per query on stdout")
    p.add_argument("--device", default=None, help="auto, cpu or gpu (default: the app's setting, else auto)")
    _add_common(p)

    p = sub.add_parser("watch", help="keep the watched folders indexed until Ctrl+C or SIGTERM (no window)")
    p.add_argument("folders", nargs="*", metavar="FOLDER", help="folders to add to the watched set first")
    p.add_argument("--device", default=None, help="auto, cpu or gpu (default: the app's setting, else auto)")
    p.add_argument("--poll", action="store_true", help="poll every folder instead of waiting for change events")
    p.add_argument("--rescan-minutes", type=float, default=10.0, metavar="M",
                   help="re-scan every folder this often, to catch what events missed (default 10)")
    _add_common(p)

    p = sub.add_parser("check", help="check the catalog, the vector index and the backups (exit 1 if unhealthy)")
    p.add_argument("--repair", action="store_true",
                   help="restore a damaged catalog from its newest good backup, rebuild the index, re-scan the folders")
    p.add_argument("--device", default=None, help="auto, cpu or gpu, for the re-scan after a repair")
    _add_common(p)

    p = sub.add_parser("folders", help="list, add or remove watched folders")
    fsub = p.add_subparsers(dest="action", metavar="ACTION")
    fa = fsub.add_parser("add", help="watch a folder (indexed on the next 'photosim index')")
    fa.add_argument("path")
    _add_common(fa)
    fr = fsub.add_parser("remove", help="stop watching a folder and drop its photos from the library")
    fr.add_argument("path")
    _add_common(fr)
    _add_common(p)

    p = sub.add_parser("info", help="what the library knows about a photo: labels, size, date, camera")
    p.add_argument("path", metavar="PHOTO")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_common(p)

    p = sub.add_parser("words", help="known words for 'search --text', by how many photos carry them")
    p.add_argument("prefix", nargs="?", default="", help="only words starting with this")
    p.add_argument("-n", type=int, default=20, metavar="N", help="at most N words (default 20)")
    _add_common(p)

    p = sub.add_parser("duplicates", help="exact copies, edited copies and similar shots, with the one to keep",
                       description="Groups of duplicates in three tiers: exact copies (same bytes), the same "
                                   "photo (edited or re-saved copies) and similar shots (bursts, series), each "
                                   "with the photo to keep and why. Nothing is changed unless --trash-suggested "
                                   "is given; even then files only go to the system trash.")
    p.add_argument("--tier", choices=("exact", "same", "similar"), default=None, help="only this tier")
    p.add_argument("--folder", default=None, help="only groups with a photo inside this folder")
    p.add_argument("--json", action="store_true",
                   help='one JSON line per group: {"tier", "keep", "reason", "photos": [{"path", "score"}]}')
    p.add_argument("--trash-suggested", action="store_true",
                   help="move every photo but the one to keep to the system trash (needs --tier exact or same)")
    p.add_argument("--dry-run", action="store_true", help="with --trash-suggested: only print the plan")
    p.add_argument("--undo", action="store_true",
                   help="put back what the latest clean-up moved (from the app or --trash-suggested)")
    _add_common(p)

    p = sub.add_parser("status", help="what the library holds")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_common(p)
    return parser


def run() -> None:
    """The ``photosim`` command (and ``python -m photosim``): :func:`main`, then a quick exit.

    A command is done once its output is written and its library closed; tearing the interpreter down
    after that (freeing every module, joining pools, running onnxruntime's, OpenCV's, usearch's and
    torch's C++ destructors) took 0.2-0.3 s after a search and seconds after an index run with torch
    loaded, for nothing. So after a command (not the app, not the self-test) the streams and the log
    are flushed and the process leaves with :func:`os._exit`. Tests call :func:`main`, which returns.
    """
    code = main()
    if _ran_command:
        _leave(code)
    sys.exit(code)


def _leave(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (photosim search ... | head): nothing left to say
            pass
    logging.shutdown()
    os._exit(code)


#: The command :func:`main` ran last in this process (None: the app, the self-test, or none yet).
_ran_command: str | None = None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--self-test"]:  # its own options follow it; see photosim/selftest.py
        from .selftest import main as self_test

        return self_test(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="photosim: %(levelname)s: %(message)s" if not args.verbose else "%(asctime)s %(name)s %(levelname)s: %(message)s",
    )
    if args.self_test:
        from .selftest import main as self_test

        return self_test([])
    if args.command is None:
        from .app_launcher import launch_app

        return launch_app(args)
    _exact_bytes_output()
    global _ran_command
    _ran_command = args.command
    handler = {"index": cmd_index, "watch": cmd_watch, "search": cmd_search, "folders": cmd_folders,
               "status": cmd_status, "check": cmd_check, "info": cmd_info, "words": cmd_words,
               "duplicates": cmd_duplicates}[args.command]
    try:
        return handler(args)
    except UserError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("photosim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the engine's user-facing errors
        from .core.catalog import CatalogError
        from .core.embedder import EmbedderError
        from .core.library import LibraryBusyError
        from .core.search import QueryError

        if isinstance(exc, (CatalogError, EmbedderError, LibraryBusyError, QueryError)):
            return _fail(str(exc))
        import sqlite3

        if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
            return _fail("the disk holding the library is full; work committed so far is kept")
        if isinstance(exc, sqlite3.DatabaseError):
            from .core.catalog import is_corruption

            if is_corruption(exc):
                return _fail(f"the library's catalog is damaged ({exc}); run 'photosim check --repair'")
            return _fail(f"the library's catalog cannot be used: {exc}")
        if isinstance(exc, OSError) and exc.errno is not None:
            return _fail(f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc))
        raise


def _exact_bytes_output() -> None:
    """Write names that are not valid UTF-8 back as the bytes they came from (surrogate escapes)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError):
                pass


def _device_choice(args: argparse.Namespace) -> str:
    """``--device`` if given, else the app's setting (settings.json in the data folder), else auto."""
    from .core.devices import normalize_choice

    if getattr(args, "device", None):
        return normalize_choice(args.device)
    from .core.paths import resolve_data_dir
    from .core.settings import load_settings

    return load_settings(resolve_data_dir(args.data_dir)).device


def _fail(message: str) -> int:
    print(f"photosim: error: {message}", file=sys.stderr)
    return EXIT_USER_ERROR


def _open(args: argparse.Namespace, *, writable: bool, wait: bool = False, for_queries: bool = False):  # noqa: ANN202
    from .core.library import Library

    return Library(args.data_dir, writable=writable, device=_device_choice(args), lock_timeout=-1 if wait else 0,
                   for_queries=for_queries)


def _open_service(args: argparse.Namespace, *, watch: bool, wait: bool = False, **options):  # noqa: ANN003, ANN202
    """The library through the same service as the app (the one start-up path)."""
    from .core.paths import resolve_data_dir
    from .core.service import open_service
    from .core.settings import load_settings

    settings = load_settings(resolve_data_dir(args.data_dir))
    return open_service(args.data_dir, device=_device_choice(args), excluded=settings.excluded,
                        lock_timeout=-1 if wait else 0, watch=watch, keep_rules=settings.keep_rules,
                        reference_folders=settings.reference_folders, similar_threshold=settings.similar_threshold,
                        **options)


# -- index --------------------------------------------------------------------------------------
def _cancel_on_first_interrupt(control, cancel=None):  # noqa: ANN001, ANN202
    """First Ctrl+C: finish the batch in hand, save, and stop. Second Ctrl+C: stop at once."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):  # noqa: ANN001, ARG001
        if control.cancelled:
            raise KeyboardInterrupt
        print("\nphotosim: stopping after the current batch (Ctrl+C again to stop at once)...", file=sys.stderr)
        control.cancel()
        if cancel is not None:
            cancel()

    return signal.signal(signal.SIGINT, handler)


def _check_photo_folder(folder: str) -> None:
    """A folder ``index`` and ``folders add`` may watch: one that exists and is not the system's."""
    from .core.paths import normalize_path, not_a_photo_folder

    if not os.path.isdir(folder):
        raise UserError(f"not a folder: {folder}")
    why = not_a_photo_folder(normalize_path(folder))
    if why is not None:
        raise UserError(f"{why}: give the folders that hold your photos, such as ~/Pictures")


def cmd_index(args: argparse.Namespace) -> int:
    from .core.events import Noticed, Progressed, RunFinished
    from .core.progress import RunControl
    from .core.service import close_service

    for folder in args.folders:
        _check_photo_folder(folder)
    service = _open_service(args, watch=False, wait=args.wait, reconcile_interval=None, background_priority=False,
                            workers=args.workers)
    bar = ProgressBar(sys.stderr)
    reports = []

    def listen(event) -> None:  # noqa: ANN001
        if isinstance(event, Progressed):
            bar.update(event.progress)
        elif isinstance(event, RunFinished):
            reports.append(event.report)
        elif isinstance(event, Noticed):
            bar.close()
            print(f"photosim: {event.text}", file=sys.stderr)

    control = RunControl()  # Ctrl+C: first stops after the batch in hand, the second at once
    previous = _cancel_on_first_interrupt(control, service.cancel_run)
    try:
        service.subscribe(listen)
        for folder in args.folders:
            service.add_folder(folder)
        if not args.folders and not service.library.catalog.folders():
            raise UserError("no folders are watched yet: run 'photosim index FOLDER'")
        if args.retry_failed:
            service.retry_failed()  # runs first, then the scan reads those files
        service.start(initial_scan=True)
        service.wait_idle()
    finally:
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        close_service(service)
    if service.damaged:
        raise UserError(service.damaged)
    if service.last_failure is not None:
        raise service.last_failure
    report = _merge_reports(reports)
    if report.cancelled or control.cancelled:
        print("photosim: interrupted; the work done so far is saved, 'photosim index' continues it",
              file=sys.stderr)
    for folder, why in report.offline_reasons.items():
        print(f"photosim: warning: {why}, its photos are kept: {folder}", file=sys.stderr)
    for path, why in report.scan_errors:
        print(f"photosim: warning: {path}: {why}", file=sys.stderr)
    for path, why in report.failures:
        print(f"photosim: failed: {path}: {why}", file=sys.stderr)
    print(
        f"indexed {report.indexed}, unchanged {report.unchanged}, moved {report.moved}, "
        f"removed {report.removed}, failed {report.failed} "
        f"in {report.seconds:.1f} s ({report.rate:.1f} images/s)",
        file=sys.stderr,
    )
    return 0


def _merge_reports(reports):  # noqa: ANN001, ANN202
    """One summary for the runs of one command (a folder change splits a scan into two runs)."""
    from .core.indexer import IndexReport

    total = IndexReport()
    for r in reports:
        for name in ("indexed", "reused", "unchanged", "moved", "removed", "failed", "embedded"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.seconds += r.seconds
        total.work_seconds += r.work_seconds
        total.cancelled = r.cancelled
        total.offline_reasons.update(r.offline_reasons)
        total.scan_errors += r.scan_errors
        total.failures += r.failures
    return total


def cmd_watch(args: argparse.Namespace) -> int:
    """The service without a window: keep the folders indexed until Ctrl+C or SIGTERM."""
    import threading

    from .core.events import CatalogDamaged, Failed, FoldersChanged, ModelLoaded, Noticed, RunFinished, RunStarted
    from .core.service import close_service

    for folder in args.folders:
        if not os.path.isdir(folder):
            raise UserError(f"not a folder: {folder}")
    log = logging.getLogger("photosim.watch")
    if not args.verbose:  # the point of this command is its log: say what happens, at INFO
        logging.getLogger().setLevel(logging.INFO)
        for handler in logging.getLogger().handlers:
            handler.setFormatter(logging.Formatter("%(asctime)s photosim: %(message)s", "%Y-%m-%d %H:%M:%S"))
    _log_to_file()
    options = {"reconcile_interval": max(1.0, args.rescan_minutes * 60.0)}
    if args.poll:
        options["poll_folder"] = lambda path: True
    service = _open_service(args, watch=True, **options)
    stop = threading.Event()

    def listen(event) -> None:  # noqa: ANN001
        if isinstance(event, ModelLoaded):
            log.info("model ready on %s (%s)", event.device, event.runtime)
        elif isinstance(event, RunStarted):
            log.info("checking %s", "every folder" if event.full else "changed files")
        elif isinstance(event, RunFinished):
            r = event.report
            if r.any_change or r.failed:
                log.info("indexed %d, moved %d, removed %d, failed %d in %.1f s", r.indexed, r.moved, r.removed,
                         r.failed, r.seconds)
            for path, why in r.failures:
                log.warning("failed: %s: %s", path, why)
            for folder, why in r.offline_reasons.items():
                log.warning("%s, its photos are kept: %s", why, folder)
        elif isinstance(event, FoldersChanged):
            log.info("watching %d folder(s): %s", len(event.folders), ", ".join(event.folders))
        elif isinstance(event, Noticed):
            log.warning("%s", event.text)
        elif isinstance(event, Failed):
            log.error("%s", event.details or event.message)
        elif isinstance(event, CatalogDamaged):
            log.error("%s", event.message)
            stop.set()

    def on_signal(signum, frame) -> None:  # noqa: ANN001, ARG001
        log.info("stopping (signal %d): finishing the batch in hand", signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.subscribe(listen)
        for folder in args.folders:
            service.add_folder(folder)
        if not args.folders and not service.library.catalog.folders():
            raise UserError("no folders are watched yet: run 'photosim watch FOLDER'")
        service.start(initial_scan=True)
        log.info("photosim %s watching the library in %s (pid %d)", __version__, service.data_dir, os.getpid())
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        close_service(service)
    log.info("stopped")
    return 1 if service.damaged else 0


def _log_to_file() -> None:
    """Also log to the rotating log file in the platform's log folder (a service has no terminal)."""
    from logging.handlers import RotatingFileHandler

    from .core.paths import resolve_log_dir

    try:
        handler = RotatingFileHandler(resolve_log_dir() / "photosim-watch.log", maxBytes=2_000_000, backupCount=3,
                                      encoding="utf-8", errors="backslashreplace")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def cmd_check(args: argparse.Namespace) -> int:
    from .core.health import check_library

    report = check_library(args.data_dir)
    print(f"library: {report.data_dir}")
    for line in report.lines():
        print(f"  {line}")
    if not args.repair:
        if report.healthy:
            print("healthy")
            return 0
        print("not healthy: 'photosim check --repair' fixes what it can")
        return 1
    if report.healthy:
        print("healthy: nothing to repair")
        return 0
    return _repair(args)


def _repair(args: argparse.Namespace) -> int:
    from .core.health import check_library, repair_catalog_and_index

    print("repairing:")
    result = repair_catalog_and_index(args.data_dir, say=lambda text: print(f"  {text}", flush=True))
    print("re-scanning every folder so nothing on disk is missed:", flush=True)
    rescan = argparse.Namespace(**{**vars(args), "folders": [], "wait": False, "workers": None, "retry_failed": False})
    code = cmd_index(rescan)
    after = check_library(args.data_dir)
    print("after the repair:")
    for line in after.lines():
        print(f"  {line}")
    if result.damaged_copy is not None:
        print(f"the damaged catalog was kept as {result.damaged_copy}")
    print("healthy" if after.healthy and code == 0 else "still not healthy")
    return 0 if after.healthy and code == 0 else 1


class ProgressBar:
    """A one-line progress bar with rate and time left; plain periodic lines when not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last_plain = 0.0
        self._drawn = False

    def update(self, p) -> None:  # noqa: ANN001 - Progress
        from .core.progress import format_duration

        if p.phase == "scanning":
            text = "scanning folders..."
        elif p.phase == "saving":
            text = "saving index..."
        elif p.phase == "labelling":
            text = f"labelling photos indexed earlier: {p.done}/{p.total}"
        elif p.phase == "done":
            return
        else:
            width = 28
            filled = int(width * p.fraction)
            # no rate before the first batch is in (while the model loads the first photos decode ahead)
            pace = f"{p.rate:5.1f} img/s  {format_duration(p.eta)} left" if p.rate > 0 else "starting..."
            text = f"[{'#' * filled}{'-' * (width - filled)}] {p.done}/{p.total} {pace}"
            if p.failed:
                text += f"  {p.failed} failed"
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._drawn = True
        elif time.monotonic() - self._last_plain > 5.0 or p.phase != "indexing":
            self._last_plain = time.monotonic()
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# -- search -------------------------------------------------------------------------------------
def cmd_search(args: argparse.Namespace) -> int:
    from .core.fetch import is_url
    from .core.paths import path_json_fields

    if args.k < 1:
        raise UserError("-k must be at least 1")
    if not args.images and not args.text:
        raise UserError("give an image to search with, or words with --text")
    if args.text and args.images:
        raise UserError("search with images or with --text words, not both")
    if args.images.count("-") > 1:
        raise UserError("'-' (stdin) can be given only once")
    crop = _parse_crop(args.crop) if args.crop is not None else None
    for image in args.images:
        if image == "-" or is_url(image):
            continue
        if not os.path.exists(image):
            raise UserError(f"no such file: {image}")
        if os.path.isdir(image):
            raise UserError(f"is a folder, not an image: {image}")
    from .core.library import CATALOG_FILE
    from .core.paths import resolve_data_dir

    if not (resolve_data_dir(args.data_dir) / CATALOG_FILE).exists():
        raise UserError("the library is empty: add a folder with 'photosim index FOLDER' first")
    with _open(args, writable=False, for_queries=True) as lib:
        if not args.text:  # the model loads while the library opens and the query is read and decoded
            lib.load_embedder_in_background()
        if len(lib.index) == 0:
            raise UserError("the library is empty: add a folder with 'photosim index FOLDER' first")
        if args.text:
            code = _search_labels(lib, args)
            _cache_query_graph(lib)
            return code
        from .core.search import Searcher  # imported while the model loads

        searcher = Searcher(lib)
        labels = _label_index(lib, args.only)
        want = args.k * 5 if labels is not None else args.k  # room for the ones --only drops
        for image in args.images:
            if image == "-":
                found = searcher.results_for_bytes(sys.stdin.buffer.read(), want, folder=args.folder, crop=crop)
            elif is_url(image):
                found = searcher.results_for_bytes(_download(image), want, folder=args.folder, crop=crop)
            else:
                found = searcher.results_for_file(image, want, folder=args.folder, crop=crop)
            found = found.with_cutoff(args.min_score, show_all=args.all or args.like)
            shown = found.shown
            if labels is not None:  # "similar to this photo, only dogs": the word is the cutoff
                shown = labels.narrow(found.results, args.only)
            shown = shown[: max(args.k, found.same)]
            if args.like:
                _print_like(image, shown, args)
                continue
            if args.json:
                line = {**path_json_fields(image, "query"), "same": found.same,
                        "similar": len(shown) - min(found.same, len(shown)),
                        "more": len(found.results) - len(shown),
                        "results": [{**path_json_fields(r.path), "score": round(r.score, 6), "match": r.match,
                                     "reason": r.reason} for r in shown]}
                print(json.dumps(line), flush=True)
            else:
                if len(args.images) > 1:
                    print(f"{image}:")
                for r in shown:
                    print(f"{r.score:.4f}  {r.path}")
                if not shown:
                    print("(no results)")
                more = len(found.results) - len(shown)
                print(f"photosim: {image if image != '-' else 'stdin'}: {found.header()}"
                      + (f"; {more} more with --all" if more else ""), file=sys.stderr)
        _cache_query_graph(lib)
    return 0


def _cache_query_graph(lib) -> None:  # noqa: ANN001
    """After a query answered with torch because the library had no usable cached graph: export one
    (a few seconds, once per library), so the next search starts in a fraction of a second."""
    if not lib.query_graph_wanted:
        return
    sys.stdout.flush()
    if sys.stderr.isatty():
        print("photosim: preparing the model for quicker searches (once per library)...", file=sys.stderr, flush=True)
    lib.build_query_graph()


def _parse_crop(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(round(float(v))) for v in text.split(","))
    except ValueError:
        raise UserError(f"--crop wants X,Y,W,H in pixels (four numbers), not '{text}'") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise UserError(f"--crop wants a non-negative X,Y and a positive W,H, not '{text}'")
    return x, y, w, h


def _download(url: str) -> bytes:
    """Fetch a query image from a link, with a progress line on a terminal."""
    from .core.fetch import FetchError, fetch_image

    tty = sys.stderr.isatty()

    def progress(done: int, total: int | None) -> None:
        if tty:
            of = f" of {total / 1e6:.1f} MB" if total else ""
            sys.stderr.write(f"\r\x1b[Kdownloading {done / 1e6:.1f} MB{of}")
            sys.stderr.flush()

    try:
        return fetch_image(url, progress=progress).data
    except FetchError as exc:
        raise UserError(str(exc)) from None
    finally:
        if tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _label_index(lib, word: str | None):  # noqa: ANN001, ANN202
    """The library's labels for --only WORD (None without it); an unknown word is a user error."""
    if word is None:
        return None
    from .core.tags import LabelIndex

    labels = LabelIndex(lib)
    try:
        labels.only_groups(word)
    except ValueError as exc:
        raise UserError(f"{exc} (see 'photosim words {word.strip()[:3]}')") from None
    return labels


def _print_like(image: str, shown: list, args: argparse.Namespace) -> None:
    """``search --like``'s output, as before the lists were one: a kind column ('same' / 'alike'); JSON
    results carry "kind" instead of "match"."""
    rows = [("same" if r.match == "same" else "alike", r) for r in shown]
    if args.json:
        print(json.dumps({"query": image, "results": [{"path": r.path, "score": round(r.score, 6), "kind": kind}
                                                      for kind, r in rows]}), flush=True)
        return
    if len(args.images) > 1:
        print(f"{image}:")
    for kind, r in rows:
        print(f"{r.score:.4f}  {kind:5s}  {r.path}")
    if not rows:
        print("(no results)")


def _search_labels(lib, args: argparse.Namespace) -> int:  # noqa: ANN001
    """``search --text WORDS``."""
    from .core.paths import normalize_path
    from .core.tags import LabelIndex

    labels = _label_index(lib, args.only) or LabelIndex(lib)
    try:
        found = labels.search(list(args.text), args.k, only=args.only,
                              folder=normalize_path(args.folder) if args.folder else None)
    except ValueError as exc:  # a folder outside the library
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps({"query": {"text": found.words, "groups": found.groups or [found.words],
                                    "only": found.only, "unknown": found.unknown},
                          "either": found.either,
                          "results": [{"path": h.path, "score": round(h.score, 6)} for h in found.hits]}))
    else:
        for h in found.hits:
            print(f"{h.score:.4f}  {h.path}")
    if found.message:
        print(f"photosim: {found.message}", file=sys.stderr)
        return 1
    if found.note:
        print(f"photosim: {found.note}", file=sys.stderr)
    return 0


# -- info, words ---------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> int:
    from .core.catalog import FAILED
    from .core.paths import normalize_path
    from .core.progress import format_size
    from .core.tags import photo_info

    with _open(args, writable=False) as lib:
        row = lib.catalog.get_by_path(normalize_path(args.path))
        if row is None:
            raise UserError(f"not in the library: {args.path}")
        info = photo_info(lib, row.id)
    assert info is not None
    if args.json:
        data = {k: v for k, v in info.__dict__.items() if k != "tags"}
        data["state"], data["error"] = row.state, row.error
        data["tags"] = [{"name": t.name, "probability": round(t.probability, 4), "broader": list(t.broader[:6])}
                        for t in info.tags]
        print(json.dumps(data, indent=2))
        return 0
    print(f"path:     {info.path}")
    if row.state == FAILED:  # found trying the command line: it printed "None x None px" and "not yet"
        print(f"state:    could not be indexed: {row.error or 'unknown reason'}")
        print(f"file:     {format_size(info.file_size)}, modified "
              f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(info.modified_at))}")
        return 0
    size = f"{info.width} x {info.height} px, " if info.width and info.height else ""
    print(f"size:     {size}{format_size(info.file_size)}")
    taken = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.taken_at)) if info.taken_at else "unknown"
    print(f"taken:    {taken} (file modified {time.strftime('%Y-%m-%d %H:%M', time.localtime(info.modified_at))})")
    print(f"camera:   {info.camera or 'unknown'}")
    if not info.analysed:
        print("labels:   not yet (run 'photosim index')")
    for t in info.tags:
        print(f"label:    {t.name} ({t.probability:.0%}): {', '.join(t.broader[:5])}")
    return 0


def cmd_words(args: argparse.Namespace) -> int:
    from .core.tags import LabelIndex

    with _open(args, writable=False) as lib:
        labels = LabelIndex(lib)
        if args.prefix:
            found = labels.complete(args.prefix, args.n)
        else:
            counts = labels.word_counts()
            order = sorted(range(len(counts)), key=lambda i: (-counts[i], labels.taxonomy.words[i]))
            found = [(labels.taxonomy.words[i], int(counts[i])) for i in order[: args.n] if counts[i]]
    for word, n in found:
        print(f"{n:7d}  {word}")
    if not found:
        print(f"photosim: no known word starts with '{args.prefix}'" if args.prefix else "photosim: no photo has labels yet",
              file=sys.stderr)
        return 1
    return 0


# -- duplicates ---------------------------------------------------------------------------------
def cmd_duplicates(args: argparse.Namespace) -> int:
    """List duplicate groups (or move the suggested files to the trash) from the library as indexed."""
    from .core.library import CATALOG_FILE, Library, LibraryBusyError
    from .core.paths import normalize_path, resolve_data_dir
    from .core.progress import format_size
    from .core.settings import load_settings

    if args.trash_suggested and args.tier not in ("exact", "same"):
        raise UserError("--trash-suggested needs --tier exact or --tier same (similar shots are different photos)")
    if args.dry_run and not args.trash_suggested:
        raise UserError("--dry-run goes with --trash-suggested")
    data_dir = resolve_data_dir(args.data_dir)
    if not (data_dir / CATALOG_FILE).exists():
        raise UserError("the library is empty: add a folder with 'photosim index FOLDER' first")
    settings = load_settings(data_dir)
    if args.undo:
        from .core.cleanup import Cleanup

        with Library(args.data_dir, writable=True, device=_device_choice(args)) as lib:
            result = Cleanup(lib, settings.reference_folders).undo_last()
        for path, why in result.refused:
            print(f"photosim: {path + ': ' if path else ''}{why}", file=sys.stderr)
        print(f"photosim: {result.summary()}", file=sys.stderr)
        return 0
    try:
        lib = Library(args.data_dir, writable=True, device=_device_choice(args))
    except LibraryBusyError:
        if args.trash_suggested and not args.dry_run:
            raise
        lib = Library(args.data_dir, writable=False, device=_device_choice(args))  # caches are not kept
    with lib:
        folder = None
        if args.folder:
            folder = normalize_path(args.folder)
            if lib.catalog.folder_for(folder) is None:
                raise UserError(f"not inside a watched folder: {folder}")
        if len(lib.index) == 0:
            raise UserError("the library is empty: add a folder with 'photosim index FOLDER' first")
        state = _duplicate_pass(lib, settings)
        groups = state.groups(args.tier, folder)
        if args.trash_suggested:
            return _trash_suggested(lib, settings, state, args, folder)
        _print_groups(groups, args.json)
        plan = state.plan(args.tier, folder=folder)
        counts = {t: len(state.groups(t, folder)) for t in ("exact", "same", "similar") if args.tier in (None, t)}
        print(f"photosim: {len(groups)} group{'' if len(groups) == 1 else 's'} ("
              + ", ".join(f"{n} {t}" for t, n in counts.items()) + f"); the suggestions would free "
              f"{format_size(plan.bytes)} ({len(plan.photos)} file{'' if len(plan.photos) == 1 else 's'})", file=sys.stderr)
    return 0


def _duplicate_pass(lib, settings):  # noqa: ANN001, ANN202
    """One full pass, with a progress line on a terminal (checks made are cached for the next run)."""
    from .core.duplicates import DuplicateFinder
    from .core.progress import format_duration

    finder = DuplicateFinder(lib, rules=settings.keep_rules, reference_folders=settings.reference_folders,
                             similar_threshold=settings.similar_threshold)
    tty = sys.stderr.isatty()

    def show(p) -> None:  # noqa: ANN001
        if tty and p.total:
            sys.stderr.write(f"\r\x1b[K{p.phase.replace('duplicates: ', '')} {p.done}/{p.total} "
                             f"({p.rate:.0f}/s, {format_duration(p.eta)} left)")
            sys.stderr.flush()

    try:
        return finder.full_pass(on_progress=show)
    finally:
        if tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _print_groups(groups, as_json: bool) -> None:  # noqa: ANN001
    from .core.paths import path_json_fields

    for g in groups:
        if as_json:
            line = {"tier": g.tier, **path_json_fields(g.keeper.path, "keep"), "reason": g.reason,
                    "photos": [{**path_json_fields(m.photo.path), "score": round(m.score, 4)} for m in g.members]}
            print(json.dumps(line), flush=True)
            continue
        print(f"{g.tier}: {len(g.members)} photos, {g.reason}")
        for m in g.members:
            mark = "keep " if m.keep else ("ref  " if m.protected else "     ")
            print(f"  {mark}{m.score:.4f}  {m.photo.path}")


def _trash_suggested(lib, settings, state, args, folder) -> int:  # noqa: ANN001
    from .core.cleanup import Cleanup

    plan = state.plan(args.tier, folder=folder)
    groups = state.groups(args.tier, folder)
    by_keeper = {p.photo_id: g.keeper.path for g in groups for p in g.suggested_trash}
    for p in plan.photos:
        print(f"trash {p.path}  (keeping {by_keeper.get(p.photo_id, '?')})")
    protected = [m.photo.path for g in groups for m in g.members if m.protected and not m.keep]
    for path in protected:
        print(f"photosim: kept (inside a reference folder): {path}", file=sys.stderr)
    if args.dry_run or not plan.photos:
        print(f"photosim: plan: {plan.summary()}" + (" (dry run: nothing moved)" if args.dry_run else ""),
              file=sys.stderr)
        return 0
    result = Cleanup(lib, settings.reference_folders).trash([p.photo_id for p in plan.photos])
    for path, why in result.refused:
        print(f"photosim: not moved: {path}: {why}", file=sys.stderr)
    print(f"photosim: {result.summary()}; 'photosim duplicates --undo' puts them back", file=sys.stderr)
    return 0


# -- folders ------------------------------------------------------------------------------------
def cmd_folders(args: argparse.Namespace) -> int:
    from .core.paths import folder_offline, normalize_path, offline_reason

    if args.action == "add":
        _check_photo_folder(args.path)
        with _open(args, writable=True) as lib:
            folder, added = lib.catalog.add_folder(args.path)
        print(f"watching {folder.path}" if added else f"already watched: {folder.path}")
        return 0
    if args.action == "remove":
        with _open(args, writable=True) as lib:
            path = normalize_path(args.path)
            if path not in {f.path for f in lib.catalog.folders()}:
                raise UserError(f"not a watched folder: {path}")
            ids = lib.catalog.remove_folder(path)
            lib.remove_vectors(ids)
        print(f"stopped watching {path} ({len(ids)} photos removed from the library)")
        return 0
    with _open(args, writable=False) as lib:
        counts = lib.catalog.folder_counts()
        folders = lib.catalog.folders()
        if not folders:
            print("no folders are watched (add one with 'photosim folders add PATH')")
        for f in folders:
            c = counts.get(f.id, {})
            held = sum(c.values()) > 0
            offline = folder_offline(f.path, holds_photos=held, device=f.device)
            state = f"  [offline: {offline_reason(f.path, f.device)}]" if offline else ""
            print(f"{f.path}  ({c.get('indexed', 0)} indexed, {c.get('failed', 0)} failed){state}")
    return 0


# -- status -------------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    from .core.library import Library
    from .core.paths import folder_offline, offline_reason, path_json_fields
    from .core.progress import format_size

    with Library(args.data_dir, writable=False) as lib:
        cat = lib.catalog
        counts = cat.counts()
        fcounts = cat.folder_counts()
        folders = cat.folders()
        failures = cat.failures()
        index_size = lib.index_path.stat().st_size if lib.index_path.exists() else 0
        offline = {f.id: folder_offline(f.path, holds_photos=sum(fcounts.get(f.id, {}).values()) > 0, device=f.device)
                   for f in folders}  # once each: a look at a network share can be slow
        info = {
            "data_dir": str(lib.data_dir),
            "counts": counts,
            "folders": [
                {
                    **path_json_fields(f.path),
                    "online": not offline[f.id],
                    "offline_reason": offline_reason(f.path, f.device) if offline[f.id] else None,
                    "counts": fcounts.get(f.id, {"pending": 0, "indexed": 0, "failed": 0}),
                }
                for f in folders
            ],
            "failures": [{**path_json_fields(r.path), "reason": r.error} for r in failures],
            "model": lib.model_id,
            "models_in_catalog": cat.models_in_use(),
            "device": _device_name(),
            "index": {"path": str(lib.index_path), "bytes": index_size, "vectors": int(cat.get_meta(f"index.{lib.model_id}.count") or 0)},
            "labels": _labels_status(lib),
        }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"library:  {info['data_dir']}")
    print(f"photos:   {counts['indexed']} indexed, {counts['pending']} pending, {counts['failed']} failed")
    print(f"model:    {info['model']} on {info['device']}")
    print(f"index:    {info['index']['vectors']} vectors, {format_size(index_size)}")
    labels = info["labels"]
    print(f"labels:   {labels['labelled']} photos labelled"
          + (f", {labels['pending']} to label (run 'photosim index')" if labels["pending"] else ""))
    print("folders:" + ("" if info["folders"] else "  none"))
    for folder, f in zip(folders, info["folders"], strict=True):
        c = f["counts"]
        print(f"  {folder.path}  ({c.get('indexed', 0)} indexed, {c.get('failed', 0)} failed)"
              + ("" if f["online"] else f"  [offline: {f['offline_reason']}]"))
    if failures:
        print(f"failures ({len(failures)}):")
        for row in failures:
            print(f"  {row.path}: {row.error}")
    return 0


def _labels_status(lib) -> dict[str, int]:  # noqa: ANN001
    """How many indexed photos have labels (word search, look-alikes) and how many still need them."""
    from .core.tags import labels_model_for

    model = labels_model_for(lib.model_id)
    return {"labelled": len(lib.catalog.labelled_ids(model)), "pending": lib.catalog.count_missing_labels(model)}


def _device_name() -> str:
    # The runtime's own answer: pick_device would import torch, which the installed app does not have.
    from .core.runtime import default_device

    return default_device()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
