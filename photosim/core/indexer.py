"""The indexing pipeline: bring the catalog and the vector index up to date with the watched folders.

    scan folders -> diff against the catalog -> read + fingerprint + decode (thread pool)
                 -> embed in batches (this thread) -> commit each batch -> update the vector index

* Incremental: files with unchanged size and mtime are not touched; a changed file is re-embedded
  (a touched file whose content fingerprint is unchanged is not); a moved or renamed file is
  recognised by its fingerprint and keeps its embedding; a copy of an indexed photo reuses its
  embedding; files that disappeared leave the catalog and the index.
* Folders that are not there (an unplugged drive), or empty while they held photos (the mount point
  of a drive that is not mounted), are reported offline and their photos are kept.
* Commits as it goes: each batch is one SQLite transaction, so a crash loses at most the batch in
  flight, and the vector index (a cache) is repaired from the catalog on the next open.
* A bad file is recorded as failed with its reason and the run goes on.
* Decoding runs in a bounded pool of threads (Pillow releases the GIL while decoding) while the
  model runs on this thread, so both cores stay busy.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import faults
from .catalog import FAILED, INDEXED, PENDING, Folder, PhotoRow, encode_vector
from .images import FileRead, ImageLoadError, decode_photo, is_image_name, read_file
from .library import Library
from .paths import folder_device, folder_offline, is_within, normalize_path, offline_reason
from .progress import Progress, RateMeter, RunControl
from .scanner import ScannedFile, scan_folder, skipped_below
from .tags import camera_of, encode_labels, labels_model_for

if TYPE_CHECKING:
    from .embedder import Analysis
    from .runtime import EmbedderLike

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]


@dataclass
class IndexReport:
    """What a run did, for the CLI summary, the GUI status bar and the tests."""

    indexed: int = 0
    reused: int = 0
    unchanged: int = 0
    moved: int = 0
    removed: int = 0
    """Photos of the library whose files are gone (indexed ones: what the grid showed)."""
    cleared: int = 0
    """Files that could not be read, or were still waiting, and are gone now (not photos anyone saw)."""
    failed: int = 0
    embedded: int = 0
    seconds: float = 0.0
    work_seconds: float = 0.0
    cancelled: bool = False
    offline_reasons: dict[str, str] = field(default_factory=dict)  # folder -> why (paths.offline_reason)
    scan_errors: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    changed_paths: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Photos brought up to date per second of processing (scanning excluded; the model loads while
        the first photos decode, so the part of its loading they could not hide is included)."""
        work = self.indexed + self.moved + self.failed
        seconds = self.work_seconds or self.seconds
        return work / seconds if seconds > 0 else 0.0

    @property
    def any_change(self) -> bool:
        return bool(self.indexed or self.moved or self.removed or self.cleared or self.failed)

    @property
    def offline_folders(self) -> list[str]:
        """The folders found offline, in the order they were met (their photos were kept)."""
        return list(self.offline_reasons)


@dataclass
class _Work:
    photo_id: int
    path: str
    folder_id: int
    previous: PhotoRow | None  # the row of a changed or re-embedded file


@dataclass
class _Result:
    work: _Work
    kind: str  # "decoded" | "encoded" (a JPEG the model's device decodes) | "failed" | "moved" | "reused" | "touched"
    read: FileRead | None = None
    array: np.ndarray | None = None
    width: int | None = None
    height: int | None = None
    taken_at: float | None = None
    error: str = ""
    source: PhotoRow | None = None
    camera: str | None = None
    orientation: int = 1  # EXIF orientation of an "encoded" JPEG


#: Runs with at least this many photos to decode freeze the model (see Embedder.optimize), on the
#: model's loading thread while the first photos decode. Tracing, freezing and compiling the fused
#: graph cost about 1.1 s of CPU; the frozen model then saves about 5.4 ms a photo over the eager one
#: (10.3 against 15.7 ms, bf16, one thread, measured side by side): it pays back after ~200 photos.
OPTIMIZE_MIN_PHOTOS = 200


def default_workers() -> int:
    """Decode threads: one per core, at most eight.

    Decoding a 12 MP JPEG costs about twice what the model does per photo, so the decoders need more
    than the cores the model leaves them: with one model thread and one decode thread on 2 cores the
    pipeline ran at 17-22 photos/s, with two decode threads at 24-27 (measured). The threads sleep
    while the model works, and the app runs them all at a lower priority than its window.
    """
    return max(1, min(8, os.cpu_count() or 2))


class Indexer:
    """Runs the pipeline for one library. One run at a time; call from the thread that owns the model."""

    def __init__(
        self,
        library: Library,
        *,
        workers: int | None = None,
        batch_size: int | None = None,
        save_interval: float = 60.0,
        excluded: Sequence[str] = (),
    ) -> None:
        if not library.writable:
            raise ValueError("indexing needs a writable library")
        self.library = library
        self.catalog = library.catalog
        self.workers = workers or default_workers()
        #: Photos per model call and commit; None: the embedder's own batch (8 on a CPU, where small
        #: batches run faster per photo, 64 on a GPU), known once the model is loaded.
        self.batch_size = batch_size
        self.save_interval = save_interval
        self.excluded = [normalize_path(p) for p in excluded]

    # -- public ------------------------------------------------------------------------------
    def run(
        self,
        *,
        paths: Iterable[str] | None = None,
        control: RunControl | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> IndexReport:
        """Bring every watched folder (or just ``paths``, files or folders inside them) up to date."""
        control = control or RunControl()
        report = IndexReport()
        started = time.monotonic()
        emit = _Throttled(on_progress)
        emit(Progress("scanning", 0, 0), force=True)

        _ = self.library.index  # open (and repair) the vector index before anything is committed
        work, missing = self._plan(paths, report, control)
        if control.cancelled:
            report.cancelled = True
            report.seconds = time.monotonic() - started
            return report

        missing_by_fp: dict[str, PhotoRow] = {}
        for row in missing:
            if row.fingerprint and row.state == INDEXED:
                missing_by_fp.setdefault(row.fingerprint, row)
        moved_ids: set[int] = set()
        self._process(work, missing_by_fp, moved_ids, report, control, emit)

        if not control.cancelled:
            gone = [row for row in missing if row.id not in moved_ids]
            if gone:
                ids = [row.id for row in gone]
                self.catalog.delete(ids)
                self.library.remove_vectors(ids)
                # a folder renamed with unreadable files in it: those are not "removed photos" (they
                # fail again at their new place and are counted there), so they are counted apart
                report.removed += sum(1 for row in gone if row.state == INDEXED)
                report.cleared += sum(1 for row in gone if row.state != INDEXED)
                report.changed_paths.extend(row.path for row in gone)
        else:
            report.cancelled = True

        if self.library.index_dirty:  # an up-to-date library is not rewritten on every run
            emit(Progress("saving", report.indexed, len(work)), force=True)
            self.library.save_index()
        report.seconds = time.monotonic() - started
        emit(Progress("done", len(work), len(work), report.rate, 0.0, failed=report.failed), force=True)
        return report

    # -- planning ----------------------------------------------------------------------------
    def _plan(
        self, paths: Iterable[str] | None, report: IndexReport, control: RunControl
    ) -> tuple[list[_Work], list[PhotoRow]]:
        """Diff the file system against the catalog: (work to do, catalog rows whose file is gone)."""
        folders = self.catalog.folders()
        targets: list[tuple[Folder, str]] = []
        if paths is None:
            targets = [(f, f.path) for f in folders]
        else:
            for raw in paths:
                path = normalize_path(raw)
                folder = next((f for f in folders if is_within(path, f.path)), None)
                if folder is not None and not skipped_below(path, folder.path):
                    targets.append((folder, path))
        model = self.library.model_id
        work: list[_Work] = []
        missing: list[PhotoRow] = []
        new_rows: list[tuple[str, int, int, int]] = []
        rows_by_folder: dict[int, dict[str, PhotoRow]] = {}
        devices_checked: set[int] = set()  # each folder's file system, noted while it has files
        offline: dict[int, bool] = {}  # decided once per folder and run, not once per changed path
        for folder, root in targets:
            if folder.id not in offline:
                if os.path.isdir(folder.path):
                    rows_by_folder[folder.id] = self.catalog.photos_in_folder(folder.id)
                # not there, or an empty mount point whose drive is not mounted: scanned as it is,
                # every one of its photos would leave the library
                offline[folder.id] = folder_offline(folder.path, holds_photos=bool(rows_by_folder.get(folder.id)),
                                                    device=folder.device)
                if offline[folder.id]:
                    why = report.offline_reasons[folder.path] = offline_reason(folder.path, folder.device)
                    # info: the report carries it to whoever shows it (the command line, the folders panel)
                    log.info("%s, its photos are kept: %s", why, folder.path)
            if offline[folder.id]:
                continue
            rows = rows_by_folder[folder.id]
            known = rows if root == folder.path else {p: r for p, r in rows.items() if is_within(p, root)}
            seen: set[str] = set()
            for found in self._scan(root, report, control):
                if any(is_within(found.path, ex) for ex in self.excluded):
                    continue
                seen.add(found.path)
                row = known.get(found.path)
                if row is None:
                    new_rows.append((found.path, folder.id, found.size, found.mtime_ns))
                elif row.state == PENDING:
                    work.append(_Work(row.id, row.path, folder.id, None))
                elif row.size == found.size and row.mtime_ns == found.mtime_ns and (
                    row.state == FAILED or row.model == model
                ):
                    report.unchanged += 1
                else:
                    work.append(_Work(row.id, row.path, folder.id, row))
            missing.extend(r for p, r in known.items() if p not in seen)
            if seen and folder.id not in devices_checked:
                devices_checked.add(folder.id)
                device = folder_device(folder.path)
                if device is not None and device != folder.device:
                    self.catalog.set_folder_device(folder.id, device)
        if new_rows:
            self.catalog.insert_pending(new_rows)
            # The new rows' ids, one query per folder (a query per photo cost 0.2-0.5 s for 600 photos).
            inserted: dict[int, dict[str, PhotoRow]] = {}
            for path, folder_id, _size, _mtime in new_rows:
                if folder_id not in inserted:
                    inserted[folder_id] = self.catalog.photos_in_folder(folder_id)
                row = inserted[folder_id].get(path)
                if row is not None:
                    work.append(_Work(row.id, path, folder_id, None))
        return work, missing

    def _scan(self, root: str, report: IndexReport, control: RunControl) -> Iterable[ScannedFile]:
        if os.path.isfile(root):
            if is_image_name(root):
                try:
                    st = os.stat(root)
                    yield ScannedFile(root, st.st_size, st.st_mtime_ns)
                except OSError:
                    pass
            return
        if not os.path.isdir(root):
            return
        yield from scan_folder(
            root,
            excluded=self.excluded,
            on_error=lambda p, why: report.scan_errors.append((p, why)),
            should_stop=lambda: control.cancelled,
        )

    # -- processing --------------------------------------------------------------------------
    def _process(
        self,
        work: list[_Work],
        missing_by_fp: dict[str, PhotoRow],
        moved_ids: set[int],
        report: IndexReport,
        control: RunControl,
        emit: _Throttled,
    ) -> None:
        total = len(work)
        if not total:
            return
        # The model loads (and, for a big enough run, is frozen) on a thread of its own while the
        # photos decode: a new process spends 1-3 s importing torch and building the network, which
        # used to come before the first decode. The photos decoded meanwhile wait in memory (at most
        # EARLY_DECODES of them, 150 KB each at 224 px) and go through the model as soon as it is there.
        model_future = _load_model(self.library, optimize=total >= OPTIMIZE_MIN_PHOTOS)
        started = time.monotonic()
        fp_lock = threading.Lock()
        model = self.library.model_id
        # Decode threads never touch SQLite (a connection per short-lived thread would pile up).
        known_fingerprints = self.catalog.indexed_fingerprints(model)
        backbone = self.library.backbone
        min_side = backbone.decode_min_side
        # Set once the model is loaded if it decodes camera JPEGs on its own device (a CUDA GPU):
        # from then on the decode threads only read those files and parse their headers.
        device_jpegs = threading.Event()

        def prepare(item: _Work) -> _Result:
            try:
                read = read_file(item.path)
            except ImageLoadError as exc:
                return _Result(item, "failed", error=str(exc))
            prev = item.previous
            if prev is not None and prev.fingerprint == read.fingerprint and prev.state == INDEXED and prev.model == model:
                return _Result(item, "touched", read=read)
            with fp_lock:
                source = missing_by_fp.pop(read.fingerprint, None)
            if source is not None:
                return _Result(item, "moved", read=read, source=source)
            if read.fingerprint in known_fingerprints:  # a copy of an indexed photo: the commit reuses its vector
                return _Result(item, "reused", read=read)
            if device_jpegs.is_set():
                from .device_jpeg import jpeg_header

                header = jpeg_header(read, backbone.input_size)
                if header is not None:
                    return _Result(item, "encoded", read=read, width=header.width, height=header.height,
                                   taken_at=header.taken_at, camera=camera_of(read), orientation=header.orientation)
            try:
                photo = decode_photo(read, min_side)
                array = backbone.prepare(photo.image)
            except ImageLoadError as exc:
                return _Result(item, "failed", read=read, error=str(exc))
            except Exception as exc:  # a decoder bug must not stop the run
                return _Result(item, "failed", read=read, error=f"unexpected error: {type(exc).__name__}: {exc}")
            return _Result(item, "decoded", read=read, array=array, width=photo.width, height=photo.height,
                           taken_at=photo.taken_at, camera=camera_of(read))

        meter = RateMeter()
        meter.update(0)  # the clock starts now, so the first batch already yields a rate
        done = 0
        # What the progress shows never goes back: while the model loads it counts the photos decoded
        # ahead, then the commits catch up with it (it went 51/120, then 8/120 once the model was there).
        shown = 0

        def shown_at(n: int) -> int:
            nonlocal shown
            shown = max(shown, n)
            return shown

        # The rate and time left follow the count shown, not the commits: measured on commits, the
        # model's load time counted as slow work ("8 / 407 at 2.0 images/s, 3:19 left" for a run that
        # took 14 s), then the backlog decoded meanwhile made the next seconds look too fast.
        def pace(n: int) -> tuple[float, float | None]:
            rate = meter.update(n)
            return rate, ((total - n) / rate if rate > 0 else None)
        last_save = time.monotonic()
        batch: list[_Result] = []
        inflight: deque[Future[_Result]] = deque()
        batch_size = self.batch_size or 8  # the model's own batch once it is loaded
        queue = iter(work)
        exhausted = False
        with ThreadPoolExecutor(self.workers, thread_name_prefix="photosim-decode") as pool:
            while True:
                control.wait_if_paused()
                if control.cancelled:
                    for fut in inflight:
                        fut.cancel()
                    break
                loaded = model_future.done()
                if loaded and not device_jpegs.is_set() and _decodes_jpegs(model_future):
                    device_jpegs.set()
                if loaded and not self.batch_size:
                    batch_size = _batch_size_of(model_future)
                window = batch_size * 2 + self.workers * 2
                if not loaded:  # decode ahead while the model loads
                    window = max(window, EARLY_DECODES - len(batch))
                while not exhausted and len(inflight) < window:
                    item = next(queue, None)
                    if item is None:
                        exhausted = True
                        break
                    inflight.append(pool.submit(prepare, item))
                if not inflight:
                    break
                result = inflight.popleft().result()
                batch.append(result)
                model_items = sum(1 for r in batch if r.kind in _MODEL_KINDS)
                if loaded:
                    flush = model_items >= batch_size or len(batch) >= 256
                else:  # committing decoded photos would wait for the model: keep decoding ahead instead
                    flush = model_items >= EARLY_DECODES or (model_items == 0 and len(batch) >= 256)
                if flush or not inflight:
                    # One transaction (and one model call) per batch, also for the photos decoded while
                    # the model loaded: a crash loses at most a batch, a query waits at most one.
                    while batch:
                        head, batch = _next_batch(batch, batch_size)
                        done += self._commit(head, moved_ids, report, model_future)
                        rate, eta = pace(shown_at(done))
                        emit(Progress("indexing", shown, total, rate, eta, head[-1].work.path, report.failed),
                             force=done == total)  # the last step is always shown, however fast
                        if time.monotonic() - last_save > self.save_interval and self.library.index_dirty:
                            self.library.save_index()
                            last_save = time.monotonic()
                        if inflight and sum(1 for r in batch if r.kind in _MODEL_KINDS) < batch_size:
                            break  # the rest joins the next batch
                else:  # decoded, waiting for the model: show it moving
                    rate, eta = pace(shown_at(done + len(batch)))
                    emit(Progress("indexing", shown, total, rate, eta, result.work.path, report.failed))
            while batch:
                head, batch = _next_batch(batch, batch_size)
                done += self._commit(head, moved_ids, report, model_future)
        report.work_seconds = time.monotonic() - started

    def _decode_on_cpu(self, results: list[_Result]) -> list[_Result]:
        """The CPU path for JPEGs the device could not decode: each is decoded by Pillow (and becomes
        "decoded") or fails with its own reason; returns the decoded ones."""
        out = []
        for r in results:
            try:
                assert r.read is not None
                photo = decode_photo(r.read, self.library.backbone.decode_min_side)
                r.array = self.library.backbone.prepare(photo.image)
                r.kind = "decoded"
                out.append(r)
            except ImageLoadError as exc:
                r.kind, r.error = "failed", str(exc)
            except Exception as exc:  # a decoder bug must not stop the run
                r.kind, r.error = "failed", f"unexpected error: {type(exc).__name__}: {exc}"
        return out

    def _commit(self, batch: list[_Result], moved_ids: set[int], report: IndexReport,
                model_future: Future[EmbedderLike] | None = None) -> int:
        """Embed the decoded photos of a batch and write the whole batch in one transaction."""
        model = self.library.model_id
        labels_model = labels_model_for(model)
        decoded = [r for r in batch if r.kind == "decoded"]
        encoded = [r for r in batch if r.kind == "encoded"]
        # One forward pass: the copy vectors and the class probabilities the labels come from.
        vector_of: dict[int, np.ndarray] = {}
        labels_of: dict[int, bytes] = {}

        def keep(results: list[_Result], analysis: Analysis) -> None:
            for i, r in enumerate(results):
                vector_of[id(r)] = analysis.vectors[i]
                if analysis.probabilities is not None:
                    labels_of[id(r)] = encode_labels(analysis.probabilities[i])

        if decoded or encoded:
            embedder = model_future.result() if model_future is not None else self.library.embedder
            if encoded:
                try:
                    keep(encoded, embedder.analyse_jpegs([r.read.data for r in encoded],  # type: ignore[attr-defined]
                                                         [r.orientation for r in encoded]))
                except Exception as exc:  # one bad file fails the device's whole batch: sort them out on the CPU
                    log.warning("decoding %d JPEGs on %s failed (%s); decoding them on the CPU", len(encoded),
                                getattr(embedder, "device", "the device"), exc)
                    decoded += self._decode_on_cpu(encoded)
            if decoded:
                keep(decoded, embedder.analyse_arrays([r.array for r in decoded]))
        add_ids: list[int] = []
        add_vecs: list[np.ndarray] = []
        drop_ids: list[int] = []
        cat = self.catalog
        with cat.transaction():
            for r in batch:
                w = r.work
                read = r.read
                if r.kind == "failed":
                    target = w.photo_id
                    if w.previous is not None:  # a changed file that no longer decodes: its old vector goes
                        drop_ids.append(w.photo_id)
                        target = cat.replace(w.photo_id, w.path, w.folder_id, w.previous.size, w.previous.mtime_ns)
                    cat.set_failed(target, r.error, size=read.size if read else None,
                                   mtime_ns=read.mtime_ns if read else None)
                    report.failed += 1
                    report.failures.append((w.path, r.error))
                    continue
                assert read is not None
                if r.kind == "touched":
                    cat.touch(w.photo_id, read.size, read.mtime_ns)
                    report.unchanged += 1
                    continue
                if r.kind == "moved":
                    assert r.source is not None
                    drop_ids.extend(cat.move(r.source.id, w.path, w.folder_id, read.size, read.mtime_ns))
                    moved_ids.add(r.source.id)
                    report.moved += 1
                    report.changed_paths.extend((r.source.path, w.path))
                    continue
                target = w.photo_id
                if w.previous is not None and w.previous.state != PENDING:
                    drop_ids.append(w.photo_id)
                    target = cat.replace(w.photo_id, w.path, w.folder_id, read.size, read.mtime_ns)
                source_id = None
                if r.kind == "reused":
                    reusable = cat.find_reusable(read.fingerprint, model)
                    if reusable is None:  # the original vanished meanwhile: stays pending for the next run
                        continue
                    source_id, blob, r.width, r.height, r.taken_at = reusable
                    vec = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
                    report.reused += 1
                else:
                    vec = vector_of[id(r)]
                    blob = encode_vector(vec)
                    report.embedded += 1
                cat.set_indexed(target, size=read.size, mtime_ns=read.mtime_ns, fingerprint=read.fingerprint,
                                model=model, embedding=blob, width=r.width, height=r.height, taken_at=r.taken_at)
                if id(r) in labels_of:
                    cat.set_labels(target, labels_model, labels_of[id(r)], r.camera)
                elif source_id is not None:  # a copy: the original's labels (or the backfill's later)
                    cat.copy_labels(source_id, target)
                add_ids.append(target)
                add_vecs.append(vec)
                report.indexed += 1
                report.changed_paths.append(w.path)
            faults.crash_point("catalog-commit")
        if drop_ids:
            self.library.remove_vectors(drop_ids)
        if add_ids:
            self.library.add_vectors(np.asarray(add_ids, dtype=np.uint64), np.stack(add_vecs))
        return len(batch)


#: Photos decoded ahead while the model loads (each 224x224x3 bytes, 150 KB: 38 MB at most).
EARLY_DECODES = 256
#: Results that go through the model.
_MODEL_KINDS = ("decoded", "encoded")


def _next_batch(results: list[_Result], batch_size: int) -> tuple[list[_Result], list[_Result]]:
    """The head of ``results`` holding at most ``batch_size`` photos for the model (and at most 256
    results in all), and the rest."""
    n = 0
    for i, r in enumerate(results):
        if r.kind in _MODEL_KINDS:
            n += 1
        if n >= batch_size or i + 1 >= 256:
            return results[: i + 1], results[i + 1 :]
    return results, []


def _load_model(library: Library, *, optimize: bool) -> Future[EmbedderLike]:
    """The library's model on a thread of its own (frozen first when ``optimize``); a finished future
    when it is already there and nothing more is asked of it."""
    future: Future[EmbedderLike] = Future()
    if library.has_embedder:
        embedder = library.embedder
        if not optimize or not hasattr(embedder, "optimize") or getattr(embedder, "optimized", True):
            future.set_result(embedder)
            return future

    def load() -> None:
        try:
            embedder = library.embedder
            if optimize and hasattr(embedder, "optimize"):
                embedder.optimize()  # a second of tracing that pays back over a few hundred photos
        except BaseException as exc:  # raised on the indexing thread, where the run fails cleanly
            future.set_exception(exc)
        else:
            future.set_result(embedder)

    threading.Thread(target=load, name="photosim-model-load", daemon=True).start()
    return future


def _decodes_jpegs(model_future: Future[EmbedderLike]) -> bool:
    try:
        embedder = model_future.result()
    except Exception:
        return False
    return bool(getattr(embedder, "decodes_jpegs", False)) and hasattr(embedder, "analyse_jpegs")


def _batch_size_of(model_future: Future[EmbedderLike]) -> int:
    try:
        return int(getattr(model_future.result(), "batch_size", 8))
    except Exception:
        return 8  # the error is raised where the model is used


class _Throttled:
    """Calls the progress callback at most every 0.2 s (plus forced phase changes)."""

    def __init__(self, callback: ProgressCallback | None, interval: float = 0.2) -> None:
        self.callback = callback
        self.interval = interval
        self._last = 0.0

    def __call__(self, progress: Progress, force: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if force or now - self._last >= self.interval:
            self._last = now
            self.callback(progress)
