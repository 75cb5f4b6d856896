"""The index layer side by side on the same vectors, and query latency at 10k / 100k / 1M photos.

Vectors: synthetic, drawn to look like the current recipe's real embeddings (their mean, their top
principal directions with their variances, plus isotropic noise, clipped to be non-negative like
the pooled features, L2-normalised). Real embeddings of the edited-copy corpus seed the model. Queries
are fresh draws that are not in the index; recall@10 is against exact brute force on the same data.

Compared: exact brute force (numpy), usearch f32 / f16 / i8 (photosim's ``VectorIndex``), faiss
HNSW (flat, inner product) and annoy (angular), each with its build time, memory, file size, open
time, recall@10 and single-query latency. Then photosim's own ``VectorIndex`` at each library size:
search alone, and one external 12 MP photo embedded + searched, p50 / p95.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from photosim.core.embedder import EfficientNetLite0, Embedder
from photosim.core.images import decode, read_file
from photosim.core.vectors import VIEW_ON_OPEN, VectorIndex, expansion_for

from .common import Settings, cores, log, percentiles, rss_mb
from .corpus import camera_corpus, quality_corpus

K = 10


def real_vectors(settings: Settings, embedder: Embedder) -> np.ndarray:
    """Embeddings of the edited-copy corpus with the current recipe (cached per model id)."""
    name = embedder.model_id.replace("/", "_")
    path = settings.cache / f"real-vectors-{name}.npy"
    if path.exists():
        return np.load(path)
    corpus = quality_corpus(settings.cache)
    paths = [p for _, p in corpus.originals] + [p for _, _, p in corpus.queries]
    bb = embedder.backbone
    vectors = embedder.embed_arrays([bb.prepare(decode(read_file(p), bb.decode_min_side)) for p in paths])
    np.save(path, vectors)
    return vectors


class SyntheticVectors:
    """Draws vectors from a Gaussian with the mean and covariance of real embeddings, plus a little
    isotropic noise (``noise_share`` of the real variance) for the directions 672 real vectors cannot
    show.

    Calibrated on the real vectors (:meth:`calibration`): with a noise share of 0.1, pairwise cosines
    between synthetic vectors have mean 0.35, spread 0.11 and 99th percentile 0.59, where the real
    photos have 0.38, 0.12 and 0.65, so the synthetic library is, if anything, a little harder to
    search (fewer close pairs). An earlier version clipped draws to be non-negative (a leftover from
    the 1280-d pooled features; the projected 512-d vectors are half negative) and added half the
    variance as noise: its cosines had mean 0.47 and spread 0.06, a crowd of equidistant points far
    harder for any nearest-neighbour graph than photos are (recall@10 0.54 at 1M; see RESULTS.md).
    """

    def __init__(self, real: np.ndarray, seed: int = 0, noise_share: float = 0.1) -> None:
        self.real = real
        self.mean = real.mean(axis=0)
        centred = real - self.mean
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        self.scales = (s / np.sqrt(max(1, len(real) - 1))).astype(np.float32)
        self.basis = vt.astype(np.float32)
        self.noise = float(np.sqrt(noise_share * np.sum(self.scales**2) / real.shape[1]))
        self.seed = seed

    def draw(self, n: int, offset: int = 0) -> np.ndarray:
        out = np.empty((n, self.basis.shape[1]), dtype=np.float32)
        for start in range(0, n, 50_000):
            m = min(50_000, n - start)
            rng = np.random.default_rng([self.seed, offset + start])
            z = rng.standard_normal((m, len(self.scales)), dtype=np.float32) * self.scales
            x = self.mean + z @ self.basis + rng.standard_normal((m, self.basis.shape[1]), dtype=np.float32) * self.noise
            x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            out[start : start + m] = x
        return out

    def calibration(self, originals: int) -> dict[str, dict[str, float]]:
        """Pairwise-cosine statistics of the real photos (their first ``originals`` vectors, which
        are distinct photos) and of as many synthetic draws, to show the generator is realistic."""

        def stats(v: np.ndarray) -> dict[str, float]:
            sims = v @ v.T
            pairs = sims[np.triu_indices(len(v), 1)]
            nearest = np.sort(sims - 2 * np.eye(len(v)), axis=1)[:, -1]
            return {"mean": float(pairs.mean()), "std": float(pairs.std()),
                    "p99": float(np.percentile(pairs, 99)), "nearest_mean": float(nearest.mean())}

        return {"real": stats(self.real[:originals]), "synthetic": stats(self.draw(originals, offset=7 * 10**9))}


def exact_topk(base: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(base), 100_000):
        sims = queries @ base[start : start + 100_000].astype(np.float32).T
        idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        cand_s = np.take_along_axis(sims, idx, axis=1)
        all_s = np.concatenate([best_s, cand_s], axis=1)
        all_i = np.concatenate([best_i, idx + start], axis=1)
        order = np.argsort(-all_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(all_s, order, axis=1), np.take_along_axis(all_i, order, axis=1)
    return best_i


def recall_at_k(found: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(map(int, f[:K])) & set(map(int, t))) / K for f, t in zip(found, truth)]))


def _latency(search, queries: np.ndarray) -> tuple[list[np.ndarray], dict[str, float]]:
    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        found.append(np.asarray(search(q)))
        times.append(time.perf_counter() - t)
    return found, percentiles(times)


def compare(base: np.ndarray, queries: np.ndarray, truth: np.ndarray, folder: Path) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    n, d = base.shape
    _, lat = _latency(lambda q: np.argpartition(-(base @ q), K)[:K], queries[:50])
    rows["exact (numpy f32)"] = {"build_s": 0.0, "memory_mb": base.nbytes / 1e6, "file_mb": base.nbytes / 1e6,
                                 "open_s": None, "recall@10": 1.0, **lat}
    for dtype in ("f32", "f16", "i8"):
        index = VectorIndex(d, dtype=dtype)
        t = time.perf_counter()
        index._index.add(np.arange(n, dtype=np.uint64), base, threads=cores())
        build = time.perf_counter() - t
        path = folder / f"usearch-{dtype}.usearch"
        checksum = index.save(path)
        mem = index.memory_bytes
        del index
        gc.collect()
        t = time.perf_counter()
        index = VectorIndex.load(path, d, checksum=checksum, dtype=dtype)
        open_s = time.perf_counter() - t
        found, lat = _latency(lambda q, ix=index: ix.search(q, K)[0], queries)
        rows[f"usearch {dtype} (VectorIndex)"] = {"build_s": build, "memory_mb": mem / 1e6,
                                                  "file_mb": path.stat().st_size / 1e6, "open_s": open_s,
                                                  "recall@10": recall_at_k(found, truth), **lat}
        log(f"index: usearch {dtype}: {rows[f'usearch {dtype} (VectorIndex)']}")
        del index
        gc.collect()
    try:
        import faiss

        faiss.omp_set_num_threads(cores())
        fx = faiss.IndexHNSWFlat(d, 16, faiss.METRIC_INNER_PRODUCT)
        fx.hnsw.efConstruction = 128
        t = time.perf_counter()
        fx.add(base)
        build = time.perf_counter() - t
        fx.hnsw.efSearch = 128
        path = folder / "faiss.index"
        faiss.write_index(fx, str(path))
        del fx
        t = time.perf_counter()
        fx = faiss.read_index(str(path))
        open_s = time.perf_counter() - t
        fx.hnsw.efSearch = 128
        faiss.omp_set_num_threads(1)
        found, lat = _latency(lambda q, ix=fx: ix.search(q[None, :], K)[1][0], queries)
        rows["faiss HNSW16 flat f32"] = {"build_s": build, "memory_mb": path.stat().st_size / 1e6,
                                         "file_mb": path.stat().st_size / 1e6, "open_s": open_s,
                                         "recall@10": recall_at_k(found, truth), **lat}
        log(f"index: faiss: {rows['faiss HNSW16 flat f32']}")
        del fx
    except ImportError:
        rows["faiss"] = {"skipped": "faiss-cpu is not installed (pip install '.[bench]')"}
    try:
        from annoy import AnnoyIndex

        ax = AnnoyIndex(d, "angular")
        for i in range(n):
            ax.add_item(i, base[i])
        t0 = time.perf_counter()
        ax.build(16, n_jobs=cores())
        build = time.perf_counter() - t0
        path = folder / "annoy.ann"
        ax.save(str(path))
        ax.unload()
        t = time.perf_counter()
        ax = AnnoyIndex(d, "angular")
        ax.load(str(path))
        open_s = time.perf_counter() - t
        found, lat = _latency(lambda q: ax.get_nns_by_vector(q, K, search_k=-1), queries)
        rows["annoy 16 trees (f32)"] = {"build_s": build, "memory_mb": path.stat().st_size / 1e6,
                                        "file_mb": path.stat().st_size / 1e6, "open_s": open_s,
                                        "recall@10": recall_at_k(found, truth), **lat}
        log(f"index: annoy: {rows['annoy 16 trees (f32)']}")
        ax.unload()
    except ImportError:
        rows["annoy"] = {"skipped": "annoy is not installed (pip install '.[bench]')"}
    return rows


def run(settings: Settings) -> dict[str, Any]:
    backbone = EfficientNetLite0()
    embedder = Embedder(backbone, device="cpu", optimize=True)  # as the app holds it (frozen once loaded)
    gen = SyntheticVectors(real_vectors(settings, embedder))
    d = backbone.dim
    res_calibration = gen.calibration(len(quality_corpus(settings.cache).originals))
    queries = gen.draw(settings.n_queries, offset=10**9)
    res: dict[str, Any] = {"dim": d, "n_queries": settings.n_queries, "calibration": res_calibration}
    folder = Path(tempfile.mkdtemp(prefix="photosim-bench-index-"))
    n = settings.compare_size
    base = gen.draw(n)
    truth = exact_topk(base, queries)
    log(f"index: comparing index layers on {n} vectors of {d} dimensions")
    res["compare"] = {"n": n, "rows": compare(base, queries, truth, folder)}
    del base
    # photosim's VectorIndex (its default dtype) at each library size; one external photo per query
    photo = camera_corpus(settings.cache, 1).jpeg[0]
    default_dtype = VectorIndex(d).dtype
    res["default_dtype"] = default_dtype
    res["sizes"] = {}
    embed_times = []
    for _ in range(12):
        t = time.perf_counter()
        image = decode(read_file(photo), backbone.decode_min_side)
        embedder.embed_images([image])
        embed_times.append(time.perf_counter() - t)
    res["embed_one_12mp"] = percentiles(embed_times[2:])
    for size in settings.index_sizes:
        rss0 = rss_mb()
        index = VectorIndex(d, dtype=default_dtype)
        build = 0.0
        for start in range(0, size, 100_000):
            chunk = gen.draw(min(100_000, size - start), offset=start)
            t = time.perf_counter()
            index._index.add(np.arange(start, start + len(chunk), dtype=np.uint64), chunk, threads=cores())
            build += time.perf_counter() - t
        path = folder / f"size-{size}.usearch"
        checksum = index.save(path)
        del index
        gc.collect()
        rss1 = rss_mb()
        t = time.perf_counter()
        index = VectorIndex.load(path, d, checksum=checksum, dtype=default_dtype)
        open_s = time.perf_counter() - t
        rss_loaded = rss_mb() - rss1
        nq = min(len(queries), 100)
        truth_q = exact_topk(gen.draw(size), queries[:nq]) if size <= 200_000 else _exact_chunked(gen, size, queries[:nq])
        found, search_lat = _latency(lambda q, ix=index: ix.search(q, K)[0], queries[:nq])
        sweep = {}  # recall against search width, to check the default policy (expansion_for)
        for ef in (64, 128, 256, 512, 768, 1024):
            f_ef, lat_ef = _latency(lambda q, ix=index, e=ef: ix.search(q, K, expansion=e)[0], queries[:nq])
            sweep[str(ef)] = {"recall@10": recall_at_k(f_ef, truth_q), "p50_ms": lat_ef["p50_ms"]}
        query_times = []
        for _ in range(20):
            t = time.perf_counter()
            image = decode(read_file(photo), backbone.decode_min_side)
            vec = embedder.embed_images([image])[0]
            index.search(vec, K)
            query_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        with index._lock:
            index._make_writable()  # what the first new photo after opening costs (mapped -> loaded)
        writable_s = time.perf_counter() - t
        res["sizes"][str(size)] = {
            "mapped_on_open": VIEW_ON_OPEN, "load_for_changes_s": writable_s, "expansion": expansion_for(size),
            "connectivity": index.connectivity, "sweep": sweep,
            "build_s": build, "file_mb": path.stat().st_size / 1e6, "memory_mb": index.memory_bytes / 1e6,
            "rss_growth_on_open_mb": rss_loaded, "open_s": open_s, "recall@10": recall_at_k(found, truth_q),
            "search": search_lat, "embed_plus_search": percentiles(query_times[2:]), "rss_before_mb": rss0,
        }
        log(f"index: VectorIndex {default_dtype} at {size}: {res['sizes'][str(size)]}")
        del index
        gc.collect()
        os.unlink(path)
    return res


def _exact_chunked(gen: SyntheticVectors, size: int, queries: np.ndarray) -> np.ndarray:
    best_s = np.full((len(queries), K), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), K), dtype=np.int64)
    for start in range(0, size, 100_000):
        chunk = gen.draw(min(100_000, size - start), offset=start)
        idx = exact_topk(chunk, queries)
        sims = np.take_along_axis(queries @ chunk.T, idx, axis=1)
        all_s = np.concatenate([best_s, sims], axis=1)
        all_i = np.concatenate([best_i, idx + start], axis=1)
        order = np.argsort(-all_s, axis=1)[:, :K]
        best_s, best_i = np.take_along_axis(all_s, order, axis=1), np.take_along_axis(all_i, order, axis=1)
    return best_i


def markdown(r: dict[str, Any]) -> str:
    c = r["compare"]
    cal = r["calibration"]
    lines = [f"Index layer on the same {c['n']:,} synthetic {r['dim']}-d vectors (shaped like real embeddings), "
             f"{r['n_queries']} fresh queries, k = 10, one query at a time on one thread. Pairwise cosines of "
             f"real photos / synthetic vectors: mean {cal['real']['mean']:.2f} / {cal['synthetic']['mean']:.2f}, "
             f"spread {cal['real']['std']:.2f} / {cal['synthetic']['std']:.2f}, 99th percentile "
             f"{cal['real']['p99']:.2f} / {cal['synthetic']['p99']:.2f}.", "",
             "| index | build s | memory MB | file MB | open s | recall@10 | p50 ms | p95 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, row in c["rows"].items():
        if "skipped" in row:
            lines.append(f"| {name} | skipped: {row['skipped']} | | | | | | |")
            continue
        open_s = "-" if row["open_s"] is None else f"{row['open_s']:.3f}"
        lines.append(f"| {name} | {row['build_s']:.1f} | {row['memory_mb']:.0f} | {row['file_mb']:.0f} | {open_s} | "
                     f"{row['recall@10']:.3f} | {row['p50_ms']:.2f} | {row['p95_ms']:.2f} |")
    e = r["embed_one_12mp"]
    lines += ["", f"photosim's `VectorIndex` (default dtype {r['default_dtype']}) by library size. Embedding one "
              f"external 12 MP JPEG alone: p50 {e['p50_ms']:.0f} ms, p95 {e['p95_ms']:.0f} ms.", "",
              "| photos | build s | file MB | index memory MB | open s (checksum + map) | first change: load s | "
              "recall@10 | search p50 / p95 ms | embed + search p50 / p95 ms |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, row in r["sizes"].items():
        s, q = row["search"], row["embed_plus_search"]
        lines.append(f"| {int(size):,} | {row['build_s']:.0f} | {row['file_mb']:.0f} | {row['memory_mb']:.0f} | "
                     f"{row['open_s']:.3f} | {row.get('load_for_changes_s', 0):.3f} | {row['recall@10']:.3f} | "
                     f"{s['p50_ms']:.2f} / {s['p95_ms']:.2f} | {q['p50_ms']:.0f} / {q['p95_ms']:.0f} |")
    first = next(iter(r["sizes"].values()))
    lines += ["", "Default search width (expansion_search) by size: "
              + ", ".join(f"{int(size):,}: {row['expansion']}" for size, row in r["sizes"].items())
              + f"; connectivity {first.get('connectivity', '?')}. Recall@10 / search p50 ms against the width:", "",
              "| photos | " + " | ".join(first["sweep"]) + " |", "| ---: |" + " ---: |" * len(first["sweep"])]
    for size, row in r["sizes"].items():
        lines.append(f"| {int(size):,} | " + " | ".join(
            f"{v['recall@10']:.3f} / {v['p50_ms']:.1f}" for v in row["sweep"].values()) + " |")
    return "\n".join(lines)
