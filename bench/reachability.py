"""Every photo findable: unreachable graph nodes before and after, what building safely costs, the check.

usearch's multi-threaded ``add`` can leave HNSW nodes that no search reaches (usearch #735). This
benchmark shows it on real photo embeddings and measures the way photosim avoids and repairs it:

* **The indexer's case**: the real embeddings (photos and their edited copies), added in batches of 8
  as the indexer does, in a fresh random order per build; unreachable photos per build, counted by
  :meth:`VectorIndex.unreachable_keys`, with usearch's default threads (the old path) and with
  photosim's single-threaded inserts; and the add rate of each.
* **Identical copies**: the same, plus many byte-identical copies of one photo (copies share one
  vector): the graph strands some copies even on one thread; the repair puts them in the exact side list.
* **The bulk case** (rebuilding the index from the catalog): synthetic vectors calibrated like
  ``index_layer.py``'s, added single-threaded, or on all cores followed by the check and a repair of
  what it finds; build, check and repair times.
* **The check** at each bulk size: time of a full :meth:`VectorIndex.unreachable_keys`.
* **Exact or graph search** by library size: single-query latency of usearch's exact search and of
  the graph at its default width, which sets :data:`photosim.core.vectors.EXACT_SEARCH_LIMIT`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from photosim.core.embedder import EfficientNetLite0, Embedder
from photosim.core.vectors import ADD_THREADS, EXACT_SEARCH_LIMIT, VectorIndex, expansion_for

from .common import Settings, cores, log, percentiles
from .index_layer import SyntheticVectors, real_vectors

BATCH = 8  # the indexer's batch size


def _build_in_batches(vectors: np.ndarray, order: np.ndarray, threads: int) -> tuple[VectorIndex, float]:
    index = VectorIndex(vectors.shape[1])
    keys = order.astype(np.uint64)
    t = time.perf_counter()
    for start in range(0, len(order), BATCH):
        index.add(keys[start : start + BATCH], vectors[order[start : start + BATCH]], threads=threads, verify=False)
    return index, time.perf_counter() - t


def builds_in_batches(vectors: np.ndarray, builds: int, seed: int = 0) -> dict[str, Any]:
    """Build the index ``builds`` times per strategy (interleaved, so machine load hits both alike)."""
    strategies = {"all cores (old)": 0, "one thread (photosim)": ADD_THREADS}
    per_build: dict[str, list[int]] = {name: [] for name in strategies}
    seconds: dict[str, float] = {name: 0.0 for name in strategies}
    for b in range(builds):
        order = np.random.default_rng([seed, b]).permutation(len(vectors))
        for name, threads in strategies.items():
            index, dt = _build_in_batches(vectors, order, threads)
            seconds[name] += dt
            per_build[name].append(len(index.unreachable_keys()))
    out = {}
    for name in strategies:
        counts = per_build[name]
        out[name] = {"builds": builds, "photos": len(vectors), "unreachable_per_build": counts,
                     "mean": float(np.mean(counts)), "max": int(max(counts)),
                     "builds_with_any": sum(1 for c in counts if c), "adds_per_s": len(vectors) * builds / seconds[name]}
        log(f"reachability: batches of {BATCH}, {name}: {out[name]['builds_with_any']}/{builds} builds with "
            f"unreachable photos, mean {out[name]['mean']:.2f}, {out[name]['adds_per_s']:.0f} adds/s")
    return out


def identical_copies(vectors: np.ndarray, copies: int, builds: int) -> dict[str, Any]:
    """Single-threaded builds with ``copies`` identical copies of one photo; then the repair."""
    data = np.concatenate([vectors, np.repeat(vectors[:1], copies, axis=0)])
    before, reinserted, exact, after = [], [], [], []
    for b in range(builds):
        order = np.random.default_rng([7, b]).permutation(len(data))
        index, _ = _build_in_batches(data, order, ADD_THREADS)
        lost = index.unreachable_keys()
        repair = index.repair_unreachable()
        before.append(len(lost))
        reinserted.append(repair.relinked)
        exact.append(len(repair.exact))
        # after the repair: every photo is found by its own vector through search() itself
        q = index.stored_vectors(np.arange(len(data), dtype=np.uint64)).astype(np.float32)
        misses = sum(1 for key in range(len(data))
                     if key not in index.search(q[key], copies + 10, expansion=2 * len(data))[0])
        after.append(misses)
    res = {"photos": len(data), "copies": copies, "builds": builds, "unreachable_per_build": before,
           "relinked_per_build": reinserted, "exact_side_list_per_build": exact, "missed_by_search_after_repair": after}
    log(f"reachability: {copies} identical copies: unreachable {before}, relinked {reinserted}, exact {exact}, "
        f"missed after repair {after}")
    return res


def _timed(fn: Any) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process): CPU time shows what a strategy costs
    whatever else shares the machine; wall time what it took here."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def bulk(gen: SyntheticVectors, size: int) -> dict[str, Any]:
    """Rebuilding ``size`` photos from the catalog: one thread, or all cores + check + repair.

    Besides wall time, each phase's CPU time: on a shared machine the all-cores build cannot use
    cores that others hold, so ``cpu / cores`` is the best an idle machine could do with it.
    """
    data = gen.draw(size, offset=3 * 10**9)
    keys = np.arange(size, dtype=np.uint64)
    res: dict[str, Any] = {"size": size}
    index = VectorIndex(data.shape[1])
    # photosim's bulk path (add(): all cores, then check and repair), timed phase by phase
    _, build, build_cpu = _timed(lambda: index.add(keys, data, threads=0, verify=False))
    lost, check, check_cpu = _timed(index.unreachable_keys)
    repair, fix, fix_cpu = _timed(lambda: index.repair_unreachable(lost))
    total = build + check + fix
    res["all cores + check + repair"] = {
        "build_s": build, "build_cpu_s": build_cpu, "check_s": check, "check_cpu_s": check_cpu, "repair_s": fix,
        "unreachable": len(lost), "exact_after": len(repair.exact), "total_s": total, "adds_per_s": size / total,
        "idle_estimate_s": (build_cpu + check_cpu) / cores() + fix_cpu}
    log(f"reachability: bulk {size}: all cores {build:.1f} s (cpu {build_cpu:.1f}) + check {check:.1f} s "
        f"(cpu {check_cpu:.1f}, {len(lost)} unreachable) + repair {fix:.2f} s")
    del index
    index = VectorIndex(data.shape[1])
    _, build, build_cpu = _timed(lambda: index.add(keys, data, threads=1))
    lost, check, check_cpu = _timed(index.unreachable_keys)
    res["one thread"] = {"build_s": build, "build_cpu_s": build_cpu, "unreachable": len(lost), "adds_per_s": size / build}
    res["check_s"], res["check_cpu_s"] = check, check_cpu
    res["check_rate_per_s"] = size / check
    log(f"reachability: bulk {size}: one thread {build:.1f} s (cpu {build_cpu:.1f}, {len(lost)} unreachable); "
        f"check {check:.1f} s (cpu {check_cpu:.1f})")
    return res


def exact_vs_graph(gen: SyntheticVectors, sizes: tuple[int, ...], n_queries: int) -> dict[str, Any]:
    """Single-query latency of exact search and of the graph (default width), by library size."""
    queries = gen.draw(n_queries, offset=10**9)
    out = {}
    for size in sizes:
        index = VectorIndex(queries.shape[1])
        index.add(np.arange(size, dtype=np.uint64), gen.draw(size), verify=False)  # latency only
        times: dict[str, list[float]] = {"exact": [], "graph": []}
        for q in queries:  # interleaved, so that a change in machine load hits both alike
            for name, exact in (("exact", True), ("graph", False)):
                t = time.perf_counter()
                index.search(q, 10, exact=exact)
                times[name].append(time.perf_counter() - t)
        row: dict[str, Any] = {name: percentiles(ts[5:]) for name, ts in times.items()}
        row["expansion"] = expansion_for(size)
        out[str(size)] = row
        log(f"reachability: search at {size}: exact p50 {row['exact']['p50_ms']:.2f} ms, "
            f"graph p50 {row['graph']['p50_ms']:.2f} ms")
    return out


def run(settings: Settings) -> dict[str, Any]:
    real = real_vectors(settings, Embedder(EfficientNetLite0(), device="cpu"))
    gen = SyntheticVectors(real)
    builds = 10 if settings.quick else 40
    res: dict[str, Any] = {"cores": cores(), "add_threads": ADD_THREADS, "exact_limit": EXACT_SEARCH_LIMIT}
    res["batches"] = builds_in_batches(real, builds)
    res["copies"] = identical_copies(real, 150, 3 if settings.quick else 5)
    res["bulk"] = {str(size): bulk(gen, size) for size in ((10_000,) if settings.quick else (10_000, 100_000))}
    sizes = (1_000, 5_000, 10_000) if settings.quick else (1_000, 2_000, 5_000, 10_000, 20_000, 50_000)
    res["search"] = exact_vs_graph(gen, sizes, 100 if settings.quick else 300)
    return res


def markdown(r: dict[str, Any]) -> str:
    lines = [f"Real embeddings ({r['batches']['all cores (old)']['photos']} photos and edited copies) added in "
             f"batches of {BATCH} as the indexer does, a fresh random order per build, both strategies on the "
             f"same orders; unreachable = photos whose own stored vector does not find them "
             f"(`VectorIndex.unreachable_keys`). {r['cores']} cores.", "",
             "| inserts | builds | builds with unreachable photos | unreachable per build: mean / max | adds/s |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, row in r["batches"].items():
        lines.append(f"| {name} | {row['builds']} | {row['builds_with_any']} | {row['mean']:.2f} / {row['max']} | "
                     f"{row['adds_per_s']:.0f} |")
    c = r["copies"]
    lines += ["", f"With {c['copies']} identical copies of one photo ({c['photos']} vectors, one thread, "
              f"{c['builds']} builds): unreachable per build {c['unreachable_per_build']}; the repair re-linked "
              f"{c['relinked_per_build']} and kept {c['exact_side_list_per_build']} in the exact side list; photos "
              f"that `search()` then missed: {c['missed_by_search_after_repair']}.", "",
              "Rebuilding from the catalog (synthetic vectors calibrated on the real ones): one thread (photosim), "
              "or all cores followed by the check and a repair of what it finds. Wall seconds, CPU seconds in "
              "brackets (on a shared machine all cores cannot run at once; CPU / cores is the best an idle "
              "machine could do).", "",
              "| photos | one thread: build s (cpu) | unreachable | all cores: build s (cpu) | + check s (cpu) "
              "| + repair s | unreachable found | all cores total s | full check s (cpu) |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for size, row in r["bulk"].items():
        one, par = row["one thread"], row["all cores + check + repair"]
        lines.append(f"| {int(size):,} | {one['build_s']:.1f} ({one['build_cpu_s']:.1f}) | {one['unreachable']} | "
                     f"{par['build_s']:.1f} ({par['build_cpu_s']:.1f}) | {par['check_s']:.1f} "
                     f"({par['check_cpu_s']:.1f}) | {par['repair_s']:.2f} | {par['unreachable']} | "
                     f"{par['total_s']:.1f} | {row['check_s']:.1f} ({row['check_cpu_s']:.1f}) |")
    lines += ["", f"One query, k = 10, on one thread: exact search against the graph at its default width "
              f"(photosim searches exactly up to {r['exact_limit']:,} photos).", "",
              "| photos | exact p50 / p95 ms | graph p50 / p95 ms | graph width |", "| ---: | ---: | ---: | ---: |"]
    for size, row in r["search"].items():
        e, g = row["exact"], row["graph"]
        lines.append(f"| {int(size):,} | {e['p50_ms']:.2f} / {e['p95_ms']:.2f} | {g['p50_ms']:.2f} / "
                     f"{g['p95_ms']:.2f} | {row['expansion']} |")
    return "\n".join(lines)
