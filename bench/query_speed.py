"""How long a query takes on a 10,000-photo library: "Find similar" on a library photo, and a photo from
outside, through the engine's own ``Searcher.results_for_photo`` / ``results_for_file``.

``python -m bench.query_speed [--synthetic N] [--json FILE]``

The library (built once per run in a temporary folder):

* **real photos**: 48 of the sample photos (skimage, sklearn, the interior photos) as 12 MP camera
  JPEGs (4000x3000, q90, EXIF), plus an edited copy of 12 of them (crop, mirror, colour shift,
  low-quality JPEG), indexed by the real indexer: real vectors, real labels, real files to decode;
* **filler**: N (default 10,000) catalog rows with synthetic copy vectors (drawn to look like real
  embeddings, as ``index_layer.py`` draws them) and synthetic labels (real photos' labels with their
  classes shuffled), each row a hard link to one of the camera corpus's 12 MP JPEGs (8 other sample
  photos, never a copy of a query), so verifying one decodes a real 12 MP file.

Queries: every real library photo (``results_for_photo``: stored vectors; its file is read only if a
candidate needs the geometric check), once with the verifier's feature cache empty ("cold") and once
right after ("again"), and 24 edited copies from outside (``results_for_file``: decode, one forward
pass, verification, the turned and cut-out variants when no copy is found). The same queries run
with the previous round's verifier (``bench/previous.py``) and the copy vector's similar photos, for
the before column. The OS file cache is warm in both (the files were just written).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .common import log

SPEED_VERSION = 1
N_REAL = 48
COPY_EDITS = ("crop", "mirror", "colour shift", "low-quality JPEG")
OUTSIDE_EDITS = ("crop", "screenshot", "watermark text", "photo of a print", "stickers", "messenger copy")


def speed_corpus(cache: Path) -> tuple[list[Path], list[Path], list[tuple[str, Path]]]:
    """(library photos, filler files, outside queries (edit, path)), written once into the cache."""
    from .corpus import CAMERA_SIZE, EDITS, _camera_frame, _exif, camera_corpus, source_photos

    folder = cache / f"speed-v{SPEED_VERSION}"
    filler = camera_corpus(cache, 48).jpeg  # crops of sources 0, 7, 14, ...: never a query's photo
    marker = folder / "corpus.json"
    if not marker.exists():
        (folder / "library").mkdir(parents=True, exist_ok=True)
        (folder / "outside").mkdir(parents=True, exist_ok=True)
        sources = [(i, name, im) for i, (name, im) in enumerate(source_photos()) if i % 7 != 0][:N_REAL]
        library, outside = [], []
        for k, (i, name, im) in enumerate(sources):
            rng = np.random.default_rng([5, i])
            frame = _camera_frame(im, rng, CAMERA_SIZE)
            path = folder / "library" / f"{name}.jpg"
            frame.save(path, "JPEG", quality=90, exif=_exif(1, i).tobytes())
            library.append(path.name)
            if k < 12:
                edit = COPY_EDITS[k % len(COPY_EDITS)]
                out, opts = EDITS[edit](frame, rng)
                copy = folder / "library" / f"{name}--{edit.replace(' ', '_')}.jpg"
                out.save(copy, "JPEG", **{"quality": 90, **opts})
                library.append(copy.name)
            if k % 2 == 0:
                edit = OUTSIDE_EDITS[(k // 2) % len(OUTSIDE_EDITS)]
                out, opts = EDITS[edit](im, rng)
                query = folder / "outside" / f"{name}--{edit.replace(' ', '_')}.jpg"
                out.save(query, "JPEG", **{"quality": 90, **opts})
                outside.append((edit, query.name))
        marker.write_text(json.dumps({"library": library, "outside": outside}))
    info = json.loads(marker.read_text())
    return ([folder / "library" / p for p in info["library"]], filler,
            [(e, folder / "outside" / p) for e, p in info["outside"]])


def build_library(root: Path, library_files: list[Path], filler_files: list[Path], n_synthetic: int) -> Path:
    """A library folder in ``root``: the real photos indexed for real, plus the synthetic filler rows."""
    from photosim.core.catalog import encode_vector
    from photosim.core.embedder import Embedder
    from photosim.core.indexer import Indexer
    from photosim.core.library import Library
    from photosim.core.semantic import SemanticIndex
    from photosim.core.tags import encode_labels, labels_model_for

    from .index_layer import SyntheticVectors

    photos = root / "photos"
    (photos / "real").mkdir(parents=True)
    (photos / "filler").mkdir()
    for p in library_files:
        shutil.copy(p, photos / "real" / p.name)
    data = root / "data"
    embedder = Embedder(device="cpu", optimize=True)
    with Library(data, embedder=embedder) as lib:
        lib.catalog.add_folder(str(photos / "real"))
        Indexer(lib).run()
        real = np.stack([v for _, v in (lib.catalog.embedding(int(i)) or ("", None) for i in lib.catalog.indexed_ids(lib.model_id))])
        # Filler rows: hard links to real 12 MP files, synthetic vectors and labels.
        folder, _ = lib.catalog.add_folder(str(photos / "filler"))
        paths = []
        for k in range(n_synthetic):
            target = photos / "filler" / f"f{k:06d}.jpg"
            os.link(filler_files[k % len(filler_files)], target)
            paths.append(target)
        stats = [p.stat() for p in paths]
        lib.catalog.insert_pending([(str(p), folder.id, st.st_size, st.st_mtime_ns) for p, st in zip(paths, stats, strict=True)])
        rows = {r.path: r for r in lib.catalog.photos_in_folder(folder.id).values()}
        generator = SyntheticVectors(np.asarray(real, dtype=np.float32), seed=3)
        vectors = generator.draw(n_synthetic)
        label_rows = [lib.catalog.labels_of(int(i)) for i in lib.catalog.indexed_ids(lib.model_id)]
        blobs = [b[1] for b in label_rows if b is not None]
        rng = np.random.default_rng(0)
        ids = []
        model = labels_model_for(lib.model_id)
        with lib.catalog.transaction():
            for k, (p, st) in enumerate(zip(paths, stats, strict=True)):
                row = rows[str(p)]
                lib.catalog.set_indexed(row.id, size=st.st_size, mtime_ns=st.st_mtime_ns, fingerprint=f"synthetic-{k}",
                                        model=lib.model_id, embedding=encode_vector(vectors[k]), width=4000, height=3000,
                                        taken_at=None)
                probs = np.zeros(1000, dtype=np.float32)
                template = np.frombuffer(blobs[k % len(blobs)], dtype=[("c", "<u2"), ("p", "<f2")])
                probs[rng.choice(1000, size=len(template), replace=False)] = template["p"].astype(np.float32)
                lib.catalog.set_labels(row.id, model, encode_labels(probs), None)
                ids.append(row.id)
        lib.add_vectors(np.asarray(ids), vectors)
        lib.save_index()
        semantic = SemanticIndex.of(lib)
        semantic.sync()
        semantic.save()
    return data


def _stats(times: list[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))], 1), "max_ms": round(ms[-1], 1)}


def run(cache: Path, n_synthetic: int = 10_000) -> dict[str, Any]:
    from photosim.core.embedder import Embedder
    from photosim.core.library import Library
    from photosim.core.matching import GeometricVerifier
    from photosim.core.search import Searcher

    from .previous import PreviousVerifier

    library_files, filler_files, outside = speed_corpus(cache)
    results: dict[str, Any] = {"n_synthetic": n_synthetic, "library_photos": len(library_files), "outside": len(outside)}
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        t = time.perf_counter()
        data = build_library(Path(tmp), library_files, filler_files, n_synthetic)
        log(f"query_speed: library of {len(library_files)} + {n_synthetic} photos built in {time.perf_counter() - t:.0f} s")
        embedder = Embedder(device="cpu", optimize=True)
        with Library(data, writable=False, embedder=embedder) as lib:
            real_ids = [r.id for r in lib.catalog.library_page(limit=100_000) if "/real/" in r.path]
            for label, verifier_class, look_alikes in (("before", PreviousVerifier, False), ("after", GeometricVerifier, True)):
                verifier = verifier_class()
                # before: the copy vector's similar photos, as the previous round listed them
                searcher = Searcher(lib, verifier=verifier, look_alikes=look_alikes)
                searcher.same_photo_test()  # the background samples, drawn once per library as the app does
                semantic = searcher.look_alike_index()
                if semantic is not None:
                    semantic.sample()
                checks = {"n": 0}
                original_verify = verifier.verify

                def counted(*args: Any, _verify: Any = original_verify, _checks: dict[str, int] = checks,
                            **kwargs: Any) -> Any:
                    _checks["n"] += 1
                    return _verify(*args, **kwargs)

                verifier.verify = counted  # type: ignore[method-assign]
                kinds: dict[str, list[float]] = {"library photo, cold": [], "library photo, again": [], "outside photo": []}
                counts: dict[str, list[int]] = {k: [] for k in kinds}
                for photo_id in real_ids:
                    with verifier._lock:
                        verifier._cache.clear()
                    for kind in ("library photo, cold", "library photo, again"):
                        checks["n"] = 0
                        t = time.perf_counter()
                        searcher.results_for_photo(photo_id, 60)
                        kinds[kind].append(time.perf_counter() - t)
                        counts[kind].append(checks["n"])
                for _, path in outside:
                    with verifier._lock:
                        verifier._cache.clear()
                    checks["n"] = 0
                    t = time.perf_counter()
                    searcher.results_for_file(path, 60)
                    kinds["outside photo"].append(time.perf_counter() - t)
                    counts["outside photo"].append(checks["n"])
                index_only = []
                for photo_id in real_ids:
                    stored = lib.catalog.embedding(photo_id)
                    assert stored is not None
                    t = time.perf_counter()
                    searcher.search_vector(stored[1], 60, exclude=(photo_id,))
                    index_only.append(time.perf_counter() - t)
                results[label] = {kind: {**_stats(v), "checks_mean": round(float(np.mean(counts[kind])), 1)}
                                  for kind, v in kinds.items()}
                results[label]["index search alone"] = {**_stats(index_only), "checks_mean": 0.0}
                log(f"query_speed: {label}: " + ", ".join(f"{k} {v['median_ms']} / {v['p95_ms']} ms"
                                                          for k, v in results[label].items()))
    results["load_average"] = round(os.getloadavg()[0], 2)
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = [f"Library: {results['library_photos']} real 12 MP photos + {results['n_synthetic']:,} filler photos "
             f"(synthetic vectors and labels, real 12 MP files); {results['outside']} queries from outside; k = 60. "
             f"Load average at the end: {results['load_average']}.", "",
             "| query | before: median / p95 ms | checks per query | after: median / p95 ms | checks per query |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for kind in results["after"]:
        b, a = results["before"][kind], results["after"][kind]
        lines.append(f"| {kind} | {b['median_ms']} / {b['p95_ms']} | {b['checks_mean']} | {a['median_ms']} / {a['p95_ms']} | "
                     f"{a['checks_mean']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.query_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="bench-results/cache", help="corpus cache (default bench-results/cache)")
    parser.add_argument("--synthetic", type=int, default=10_000, help="filler photos (default 10000)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    results = run(Path(args.cache), args.synthetic)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
