"""The duplicate finder: quality of its three tiers, the cost of a pass and of an update, at scale.

``python -m bench.duplicates [--cache DIR] [--keep-checks] [--size N]`` (or ``python -m bench.run --only
duplicates``) measures, on this machine:

* **quality**, on the benchmark library of ``bench/dup_corpus.py`` (56 real photos, 19 edited copies
  of each, 24 exact copies, 13 bursts, 2 natural series, 14 flat pictures; 1,201 files), indexed by
  the real pipeline: pair precision and recall of each tier against the corpus's truth, how many
  groups mix photos of different subjects, whether any flat picture is grouped, how often the keeper
  is the original, and per edit how often a copy lands in its original's group. Side by side, in
  the same run and on the same neighbour graph: a plain cosine threshold with union-find (what most
  tools do) at several thresholds, and union-find over the finder's own "same photo" pairs (what
  the grouping without chaining adds);
* **the first pass** on that library, from scratch (cached checks and measures are cleared first,
  unless ``--keep-checks``): neighbours, checks from the files (pairs per second), grouping;
* **an update**: new edited copies written into a watched folder and indexed one by one; the time
  :meth:`DuplicateFinder.update` takes for each (and how much of it was checking pairs from files),
  and whether each copy joined its original's group;
* **scale**: a synthetic library of ``--size`` photos (100,000 by default; vectors drawn like the real
  ones, with planted exact copies and bursts; see :func:`synthetic_library`) in a separate process:
  the full pass over the vectors (no file is read: synthetic photos have no pixels) and its peak
  memory, then new photos' updates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .common import Settings, log, percentiles, rss_mb
from .dup_corpus import DupCorpus, dup_corpus

UNION_THRESHOLDS = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


# -- the benchmark library --------------------------------------------------------------------------
def bench_library(cache: Path, corpus: DupCorpus):  # noqa: ANN201 - photosim.core.library.Library
    """The corpus indexed by the real pipeline into a library cached beside it (indexed once)."""
    from photosim.core.embedder import Embedder
    from photosim.core.indexer import Indexer
    from photosim.core.library import Library

    data = cache / f"{corpus.folder.name}-library"
    lib = Library(data, embedder=Embedder(device="cpu"))
    if not lib.catalog.folders():
        lib.catalog.add_folder(str(corpus.folder))
    report = Indexer(lib).run()
    if report.indexed:
        log(f"duplicates: indexed {report.indexed} photos of the benchmark library in {report.seconds:.0f} s")
    return lib


def _rel(corpus: DupCorpus, path: str) -> str:
    return os.path.relpath(path, corpus.folder)


def _pairs(groups: list[list[str]]) -> set[tuple[str, str]]:
    out = set()
    for g in groups:
        for a, b in itertools.combinations(sorted(set(g)), 2):
            out.add((a, b))
    return out


def _score(pred: set, truth: set, ignore: set = frozenset()) -> dict[str, float]:  # type: ignore[assignment]
    pred = pred - ignore
    tp = len(pred & truth)
    return {"precision": tp / len(pred) if pred else 1.0, "recall": tp / len(truth) if truth else 1.0,
            "pairs": len(pred), "true_pairs": len(truth)}


def truth_sets(corpus: DupCorpus) -> dict[str, Any]:
    import xxhash

    t = corpus.truth
    family = t["family"]
    by_bytes: dict[str, list[str]] = defaultdict(list)  # exact copies: identical bytes, whatever made them
    for rel in family:
        by_bytes[xxhash.xxh3_128_hexdigest((corpus.folder / rel).read_bytes())].append(rel)
    members = defaultdict(list)
    for rel, fam in family.items():
        members[fam].append(rel)
    same = _pairs([m for f, m in members.items() if not f.startswith("flat/") and len(m) > 1])
    exact = _pairs([g for g in by_bytes.values() if len(g) > 1])
    shot = {rel: fam for rel, fam in family.items()}  # a shot: a family (original, copies) or a frame
    similar = _pairs([[shot[r] for r in b] for b in t["bursts"]] + [[shot[r] for r in s] for s in t["series"]])
    session = [shot[r] for r in t["session"] + [r for s in t["series"] for r in s]]
    either = _pairs([session]) - similar
    return {"same": same, "exact": exact, "similar": similar, "similar_either": either, "shot": shot,
            "family": family}


# -- quality and the first pass ------------------------------------------------------------------
def quality(cache: Path, keep_checks: bool = False) -> dict[str, Any]:
    from photosim.core.dupgraph import union_groups
    from photosim.core.duplicates import DuplicateFinder
    from photosim.core.settings import SIMILAR_DEFAULT

    corpus = dup_corpus(cache)
    truth = truth_sets(corpus)
    lib = bench_library(cache, corpus)
    try:
        if not keep_checks:
            with lib.catalog.transaction() as db:
                db.execute("DELETE FROM pair_checks")
                db.execute("DELETE FROM photo_facts")
        finder = DuplicateFinder(lib, similar_threshold=SIMILAR_DEFAULT)
        phases: dict[str, float] = {}
        started, cpu_started = time.perf_counter(), time.process_time()

        def progress(p: Any) -> None:
            phases.setdefault(p.phase, time.perf_counter() - started)

        state = finder.full_pass(on_progress=progress)
        total = time.perf_counter() - started
        checks_at = phases.get("duplicates: checking pairs", phases.get("duplicates: grouping", total))
        grouping_at = phases.get("duplicates: grouping", total)
        timing = {"seconds": total, "neighbours_seconds": checks_at, "checks_seconds": grouping_at - checks_at,
                  "grouping_seconds": total - grouping_at, "checks": finder.checks_made,
                  "checks_per_second": finder.checks_made / max(1e-9, grouping_at - checks_at),
                  "photos": len(truth["family"])}
        log(f"duplicates: first pass {total:.0f} s ({finder.checks_made} pairs checked from the files)")
        timing["cpu_seconds"] = time.process_time() - cpu_started
        timing["load_average"] = os.getloadavg()[0]
        rel = lambda p: _rel(corpus, p)  # noqa: E731
        groups = {tier: [[rel(p.path) for p in g.photos] for g in state.groups(tier, include_decided=True)]
                  for tier in ("exact", "same", "similar")}
        res: dict[str, Any] = {"timing": timing}
        res["exact"] = _score(_pairs(groups["exact"]), truth["exact"])
        res["same"] = _score(_pairs(groups["same"]), truth["same"])
        shot = truth["shot"]
        res["similar"] = _score(_pairs([[shot[r] for r in g] for g in groups["similar"]]), truth["similar"],
                                truth["similar_either"])
        fam = truth["family"]
        res["same"]["mixed_groups"] = sum(1 for g in groups["same"] if len({fam[r] for r in g}) > 1)
        res["same"]["groups"] = len(groups["same"])
        res["same"]["largest"] = max((len(g) for g in groups["same"]), default=0)
        flat = set(corpus.truth["flat"])
        res["flat_grouped"] = sum(1 for t in groups.values() for g in t if flat.intersection(g))
        keepers = [rel(g.keeper.path) for g in state.groups("same", include_decided=True)]
        res["keeper_is_original"] = (sum(1 for k in keepers if k.startswith("originals/") or
                                         (k.startswith("backup/") and any(k == c for s, c in corpus.truth["exact"]
                                                                          if s.startswith("originals/"))))
                                     / max(1, len(keepers)))
        # per edit: a copy in its original's group
        group_of = {r: i for i, g in enumerate(groups["same"]) for r in g}
        per_edit: dict[str, list[bool]] = defaultdict(list)
        for r, f in fam.items():
            if r.startswith("copies/"):
                edit = r.split("--", 1)[1].rsplit(".", 1)[0].replace("_", " ")
                original = f"originals/{f}.jpg"
                per_edit[edit].append(r in group_of and group_of.get(original) == group_of[r])
        res["per_edit"] = {e: float(np.mean(v)) for e, v in per_edit.items()}
        res["copies_with_original"] = float(np.mean([x for v in per_edit.values() for x in v]))
        # references on the same neighbour graph
        res["union_cosine"] = _union_reference(lib, corpus, truth, union_groups)
        decided = [(rel(a), rel(b)) for a, b in finder.same_pairs()]
        uf = union_groups(decided)
        res["union_same_pairs"] = {**_score(_pairs(uf), truth["same"]),
                                   "mixed_groups": sum(1 for g in uf if len({fam[r] for r in g}) > 1),
                                   "largest": max((len(g) for g in uf), default=0)}
        res["groups"] = {t: len(v) for t, v in groups.items()}
        res["incremental"] = incremental(cache, lib, finder, corpus)
    finally:
        lib.close()
    return res


def _union_reference(lib: Any, corpus: DupCorpus, truth: dict[str, Any], union_groups: Any) -> list[dict[str, Any]]:
    """A plain cosine threshold with union-find, on each photo's 16 nearest neighbours from the index."""
    from photosim.core.duplicates import NEIGHBOURS
    from photosim.core.vectors import NO_KEY

    model = lib.model_id
    ids, vecs = zip(*lib.catalog.iter_embeddings(model))
    ids_arr = np.concatenate(ids).astype(np.int64)
    matrix = np.concatenate(vecs)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    rows = lib.catalog.get_many(ids_arr.tolist())
    path = {int(i): _rel(corpus, rows[int(i)].path) for i in ids_arr}
    keys, sims = lib.index.search_batch(matrix, NEIGHBOURS + 1, threads=0)
    edges = []
    for i, photo in enumerate(ids_arr.tolist()):
        for k, s in zip(keys[i].tolist(), sims[i].tolist()):
            if k != int(NO_KEY) and k != photo:
                edges.append((photo, int(k), float(s)))
    fam = truth["family"]
    flat = set(corpus.truth["flat"])
    out = []
    for t in UNION_THRESHOLDS:
        groups = [[path[i] for i in g] for g in union_groups((a, b) for a, b, s in edges if s >= t)]
        out.append({"threshold": t, **_score(_pairs(groups), truth["same"]),
                    "mixed_groups": sum(1 for g in groups if len({fam[r] for r in g}) > 1),
                    "largest": max((len(g) for g in groups), default=0),
                    "flat_grouped": sum(1 for g in groups if flat.intersection(g))})
    return out


def incremental(cache: Path, lib: Any, finder: Any, corpus: DupCorpus, count: int = 8) -> dict[str, Any]:
    """New edited copies, one at a time: index each, then time the finder's update."""
    from PIL import Image, ImageEnhance

    from photosim.core.indexer import Indexer

    folder = cache / "dups-incremental"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    lib.catalog.add_folder(str(folder))
    originals = [rel for rel in sorted(corpus.truth["family"]) if rel.startswith("originals/")]
    seconds, checks, joined = [], [], 0
    try:
        for i, rel in enumerate(originals[::max(1, len(originals) // count)][:count]):
            with Image.open(corpus.folder / rel) as im:
                w, h = im.size
                copy = im.convert("RGB").crop((w // 12, h // 10, w - w // 14, h - h // 9))
            copy = ImageEnhance.Brightness(copy.resize((copy.width * 3 // 4, copy.height * 3 // 4))).enhance(1.08)
            target = folder / f"new-{i:02d}-{Path(rel).stem}.jpg"
            copy.save(target, "JPEG", quality=75)
            report = Indexer(lib).run(paths=[str(target)])
            before_n, before_s = finder.checks_made, finder.check_seconds
            t = time.perf_counter()
            state = finder.update(report.changed_paths)
            seconds.append(time.perf_counter() - t)
            checks.append((finder.checks_made - before_n, finder.check_seconds - before_s))
            if state is not None:
                for g in state.groups("same"):
                    paths = {p.path for p in g.photos}
                    if str(corpus.folder / rel) in paths and str(target) in paths:
                        joined += 1
                        break
    finally:
        ids = lib.catalog.remove_folder(str(folder))
        lib.remove_vectors(ids)
        shutil.rmtree(folder, ignore_errors=True)
    without = [s - c[1] for s, c in zip(seconds, checks)]
    return {"updates": percentiles(seconds), "without_checks": percentiles(without),
            "checks_per_update": float(np.mean([c[0] for c in checks])), "joined": joined, "new_copies": len(seconds)}


# -- scale: synthetic vectors -------------------------------------------------------------------
def synthetic_library(cache: Path, n: int) -> Path:
    """A library of ``n`` synthetic photos (cached): vectors drawn like real embeddings (the
    benchmark library's own, see ``bench/index_layer.py``'s SyntheticVectors), capture times minutes
    apart, and planted duplicates: 2% exact copies (a second row with the same fingerprint), 3% near
    copies (cosine about 0.97), and bursts of 3 to 5 frames a second apart (cosine about 0.85-0.9)
    starting at 3% of the photos. Planted photos get an empty file (groups list only files that
    exist); the rest have none, so nothing is ever read from them."""
    from photosim.core.catalog import encode_path, encode_vector
    from photosim.core.library import Library

    from .index_layer import SyntheticVectors

    data = cache / f"dups-synthetic-{n}"
    if (data / "ready").exists():
        return data
    shutil.rmtree(data, ignore_errors=True)
    corpus = dup_corpus(cache)
    real_lib = bench_library(cache, corpus)
    try:
        real = np.concatenate([v for _i, v in real_lib.catalog.iter_embeddings(real_lib.model_id)])
    finally:
        real_lib.close()
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    gen = SyntheticVectors(real, seed=3)
    rng = np.random.default_rng(11)
    base = gen.draw(n)
    files = data / "files"
    files.mkdir(parents=True)
    rows: list[tuple[str, np.ndarray, str, float, bool]] = []  # path, vector, fingerprint, time, has file
    t0 = dt.datetime(2020, 1, 1).timestamp()
    times = t0 + np.cumsum(rng.integers(60, 900, size=n)).astype(np.float64)
    for i in range(n):
        rows.append((f"{files}/p{i:07d}.jpg", base[i], f"{i:032x}", float(times[i]), False))

    def near(v: np.ndarray, cos: float) -> np.ndarray:
        noise = rng.standard_normal(len(v)).astype(np.float32)
        noise -= noise @ v * v
        noise /= np.linalg.norm(noise)
        return (cos * v + np.sqrt(1 - cos * cos) * noise).astype(np.float32)

    picks = rng.permutation(n)
    exact, nearc, burst = picks[: n // 50], picks[n // 50 : n // 50 + 3 * n // 100], picks[n // 20 : n // 20 + 3 * n // 100]
    for i in exact:
        rows[i] = rows[i][:4] + (True,)
        rows.append((f"{files}/p{i:07d}-copy.jpg", base[i], rows[i][2], rows[i][3], True))
    for j, i in enumerate(nearc):
        rows[i] = rows[i][:4] + (True,)
        rows.append((f"{files}/p{i:07d}-edit.jpg", near(base[i], float(rng.uniform(0.95, 0.99))), f"e{j:031x}", float("nan"), True))
    for j, i in enumerate(burst):
        rows[i] = rows[i][:4] + (True,)
        for f in range(1, int(rng.integers(3, 6))):
            rows.append((f"{files}/p{i:07d}-b{f}.jpg", near(base[i], float(rng.uniform(0.85, 0.92))),
                         f"b{j:024x}{f:07x}", rows[i][3] + f, True))
    with Library(data, writable=True) as lib:
        folder, _ = lib.catalog.add_folder(str(files))
        model = lib.model_id
        now = time.time()
        with lib.catalog.transaction() as db:
            db.executemany(
                "INSERT INTO photos(path, folder_id, size, mtime_ns, fingerprint, state, model, embedding, width, "
                "height, taken_at, updated_at) VALUES (?, ?, 1, 1, ?, 'indexed', ?, ?, 4000, 3000, ?, ?)",
                [(encode_path(p), folder.id, fp, model, encode_vector(v), None if t != t else t, now)
                 for p, v, fp, t, _f in rows])
        for p, _v, _fp, _t, has_file in rows:
            if has_file:
                Path(p).touch()
        log(f"duplicates: building the vector index of {len(rows)} synthetic photos")
        _ = lib.index  # built from the catalog, saved on close
    (data / "ready").write_text(str(len(rows)))
    return data


def scale(cache: Path, n: int) -> dict[str, Any]:
    data = synthetic_library(cache, n)
    out = subprocess.run([sys.executable, "-m", "bench.duplicates", "--scale-child", str(data)],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _seed_facts(lib: Any) -> None:
    """Give every synthetic photo the measures a real pass would have cached (a textured camera JPEG):
    the vectors have no files to measure, and a photo whose measures are unknown joins no burst (it
    might be a blank picture), so without them the pass would skip the similar tier's grouping."""
    from photosim.core.photofacts import FACTS_VERSION, ContentFacts

    facts = ContentFacts(format="JPEG", width=4000, height=3000, content_width=4000, content_height=3000, quality=90,
                         sharpness=500.0, keypoints=1000, camera="PhotosimBench", software=None, taken_at=None,
                         colour=(128.0,) * 48).to_json()
    _ids, fingerprints, _taken, _paths = lib.catalog.dedup_keys(lib.model_id)
    lib.catalog.put_photo_facts(dict.fromkeys(set(fingerprints), facts), FACTS_VERSION)


def scale_child(data: Path) -> dict[str, Any]:
    """In a fresh process: open the library, time a full pass over its vectors, and new photos' updates."""
    from photosim.core.catalog import encode_path, encode_vector
    from photosim.core.duplicates import DuplicateFinder
    from photosim.core.library import Library
    from photosim.core.settings import SIMILAR_DEFAULT

    with Library(data, writable=True) as lib:
        _drop_new_photos(lib)  # an interrupted earlier run's
        _ = lib.index.search(np.ones(lib.backbone.dim, np.float32), 1)  # opened and mapped
        _seed_facts(lib)
        baseline = rss_mb()
        peak_before = _peak_rss_mb()
        finder = DuplicateFinder(lib, similar_threshold=SIMILAR_DEFAULT)
        t, cpu = time.perf_counter(), time.process_time()
        state = finder.full_pass(check_files=False)
        seconds, cpu_seconds = time.perf_counter() - t, time.process_time() - cpu
        peak = _peak_rss_mb()
        stats = finder.vector_pass_stats
        recall = _neighbour_recall(lib, finder)
        folder = lib.catalog.folders()[0]
        rng = np.random.default_rng(5)
        updates = []
        ids, _fps, _t, paths = lib.catalog.dedup_keys(lib.model_id)
        for k in range(20):  # new photos: a burst frame of a planted photo, or an unrelated one
            source = int(ids[rng.integers(len(ids))])
            vec = lib.index.get([source])[0]
            noise = rng.standard_normal(len(vec)).astype(np.float32)
            vec = vec + 0.35 * noise / np.linalg.norm(noise) if k % 2 else noise
            vec /= np.linalg.norm(vec)
            path = f"{folder.path}/new-{k:03d}.jpg"
            Path(path).touch()
            with lib.catalog.transaction() as db:
                cur = db.execute(
                    "INSERT INTO photos(path, folder_id, size, mtime_ns, fingerprint, state, model, embedding, width, "
                    "height, taken_at, updated_at) VALUES (?, ?, 1, 1, ?, 'indexed', ?, ?, 4000, 3000, ?, ?)",
                    (encode_path(path), folder.id, f"n{k:031x}", lib.model_id, encode_vector(vec), time.time(), time.time()))
            lib.add_vectors([int(cur.lastrowid)], vec[None, :])
            t = time.perf_counter()
            finder.update([path])
            updates.append(time.perf_counter() - t)
            Path(path).unlink()
        _drop_new_photos(lib)  # leave the cached library as it was
        return {"photos": len(ids), "seconds": seconds, "cpu_seconds": cpu_seconds,
                "load_average": os.getloadavg()[0], "neighbour_recall": recall,
                "neighbours_seconds": stats.get("seconds", 0.0),
                "search_seconds": stats.get("search", 0.0), "rss_baseline_mb": baseline,
                "peak_rss_mb": peak, "peak_before_mb": peak_before, "pass_memory_mb": peak - max(baseline, peak_before),
                "groups": state.counts(), "updates": percentiles(updates)}


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: on Linux that keeps
    the peak of the process before it exec'd, i.e. the parent's (the benchmark with its model)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _drop_new_photos(lib: Any) -> None:
    """The photos scale_child added (their fingerprints start with "n")."""
    gone = [int(r[0]) for r in lib.catalog.query("SELECT id FROM photos WHERE fingerprint LIKE 'n%'")]
    if gone:
        lib.catalog.delete(gone)
        lib.remove_vectors(gone)


def _neighbour_recall(lib: Any, finder: Any, queries: int = 300) -> dict[str, float]:
    """Of each sampled photo's 16 exact nearest contents, how many the pass found; and of those with
    cosine 0.7 or more (the ones that can be duplicates or bursts)."""
    ids, vecs = zip(*lib.catalog.iter_embeddings(lib.model_id))
    ids_arr = np.concatenate(ids).astype(np.int64)
    matrix = np.concatenate(vecs)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    rng = np.random.default_rng(2)
    reps = np.array(sorted({c.rep for c in finder._contents}), dtype=np.int64)
    rep_rows = np.searchsorted(ids_arr, reps)
    content_of = {int(r): finder._by_id[int(r)] for r in reps}
    picked = rng.choice(len(reps), size=min(queries, len(reps)), replace=False)
    found_all, found_close = [], []
    for q in picked.tolist():
        sims = matrix[rep_rows] @ matrix[rep_rows[q]]
        sims[q] = -2
        top = np.argsort(-sims)[:16]
        truth = {content_of[int(reps[j])] for j in top}
        close = {content_of[int(reps[j])] for j in top if sims[j] >= 0.7}
        got = {j for j, _s in finder.neighbours(content_of[int(reps[q])])}
        found_all.append(len(truth & got) / len(truth))
        if close:
            found_close.append(len(close & got) / len(close))
    return {"all": float(np.mean(found_all)), "close": float(np.mean(found_close)) if found_close else 1.0,
            "queries": len(picked), "with_close": len(found_close)}


# -- the suite's entry points ---------------------------------------------------------------------
def run(settings: Settings, keep_checks: bool = False, size: int | None = None) -> dict[str, Any]:
    size = size or (20_000 if settings.quick else 100_000)
    res = quality(settings.cache.resolve(), keep_checks=keep_checks)
    log(f"duplicates: synthetic library of {size} photos")
    res["scale"] = scale(settings.cache.resolve(), size)
    return res


def markdown(r: dict[str, Any]) -> str:
    t = r["timing"]
    lines = [
        f"Benchmark library: {t['photos']} files (56 real photos x 19 edited copies, 24 exact copies, 13 bursts, "
        "2 series, 14 flat pictures; `bench/dup_corpus.py`), indexed by the real pipeline.",
        "",
        "| tier | pair precision | pair recall | pairs found / true | notes |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for tier, note in (("exact", ""), ("same", f"{r['same']['groups']} groups, {r['same']['mixed_groups']} mixing "
                                                f"two subjects, largest {r['same']['largest']}"),
                       ("similar", "session photos framed differently count neither way")):
        s = r[tier]
        lines.append(f"| {tier} | {s['precision']:.4f} | {s['recall']:.4f} | {s['pairs']} / {s['true_pairs']} | {note} |")
    lines += ["", f"Flat or single-colour pictures grouped: **{r['flat_grouped']}**. Keeper is the original: "
              f"{r['keeper_is_original']:.2f} of same-photo groups. Edited copies in their original's group: "
              f"{r['copies_with_original']:.3f}.", "",
              "Reference on the same neighbour graph (16 per photo), same-photo truth:", "",
              "| grouping | precision | recall | groups mixing subjects | largest group | flat pictures grouped |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for u in r["union_cosine"]:
        lines.append(f"| union-find, cosine >= {u['threshold']} | {u['precision']:.4f} | {u['recall']:.4f} | "
                     f"{u['mixed_groups']} | {u['largest']} | {u['flat_grouped']} |")
    u = r["union_same_pairs"]
    lines.append(f"| union-find over the finder's own same-photo pairs | {u['precision']:.4f} | {u['recall']:.4f} | "
                 f"{u['mixed_groups']} | {u['largest']} | |")
    s = r["same"]
    lines.append(f"| **the finder (groups around a centre)** | {s['precision']:.4f} | {s['recall']:.4f} | "
                 f"{s['mixed_groups']} | {s['largest']} | {r['flat_grouped']} |")
    lines += ["", "Edited copies found in their original's group, per edit:", "",
              "| edit | rate |", "| --- | ---: |"]
    for e, v in sorted(r["per_edit"].items(), key=lambda kv: kv[1]):
        lines.append(f"| {e} | {v:.2f} |")
    lines += ["", f"First pass, from scratch: **{t['seconds']:.1f} s** wall clock, {t['cpu_seconds']:.0f} s of CPU "
              f"(load average {t['load_average']:.1f}; neighbours {t['neighbours_seconds']:.1f} s, "
              f"{t['checks']} pairs checked from the files in {t['checks_seconds']:.1f} s = "
              f"{t['checks_per_second']:.1f} pairs/s, grouping {t['grouping_seconds']:.1f} s)."]
    inc = r["incremental"]
    lines.append(f"Update after a new edited copy is indexed ({inc['new_copies']} copies, one at a time): p50 "
                 f"{inc['updates']['p50_ms']:.0f} ms, p95 {inc['updates']['p95_ms']:.0f} ms, of which checking "
                 f"{inc['checks_per_update']:.1f} pairs from the files; without those checks p50 "
                 f"{inc['without_checks']['p50_ms']:.1f} ms, p95 {inc['without_checks']['p95_ms']:.1f} ms; "
                 f"{inc['joined']} of {inc['new_copies']} joined their original's group.")
    sc = r["scale"]
    lines += ["", f"Scale, synthetic library of {sc['photos']:,} photos in a fresh process (`--scale-child`): full pass "
              f"over the vectors **{sc['seconds']:.1f} s** wall clock, {sc['cpu_seconds']:.1f} s of CPU (load average "
              f"{sc['load_average']:.1f} on 2 cores; neighbour search {sc['search_seconds']:.1f} s on all cores; of each "
              f"photo's 16 exact nearest, {sc['neighbour_recall']['all']:.3f} found, and "
              f"{sc['neighbour_recall']['close']:.3f} of those with cosine 0.7 or more), "
              f"memory for the pass **{sc['pass_memory_mb']:.0f} MB** (peak RSS {sc['peak_rss_mb']:.0f} MB, "
              f"{sc['rss_baseline_mb']:.0f} MB with the library open before it); groups {sc['groups']}; a new "
              f"photo's update p50 {sc['updates']['p50_ms']:.1f} ms, p95 {sc['updates']['p95_ms']:.1f} ms."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.duplicates", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="bench-results/cache")
    parser.add_argument("--keep-checks", action="store_true", help="reuse the checks cached by an earlier run")
    parser.add_argument("--size", type=int, default=100_000, help="photos in the synthetic library")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--scale-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scale_child:
        print(json.dumps(scale_child(Path(args.scale_child))))
        return 0
    cache = Path(args.cache).resolve()  # the library stores absolute paths
    settings = Settings(Path("bench-results"), cache)
    res = run(settings, keep_checks=args.keep_checks, size=args.size)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
