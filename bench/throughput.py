"""Indexing throughput on 12 MP camera files, with the bounds and the seeds' approach in the same run.

Measured on the same files, one after the other (absolute rates drift on a shared machine, the
ratios between figures of one run are what to compare):

* decode bound: read + decode (JPEG draft) + prepare, on all cores (processes and threads, best kept);
* model bound: the embedder alone on the prepared arrays, all cores (the best of one model on all
  cores and one single-threaded model per core side by side);
* the bound for the pipeline on the same cores: 1 / (1/decode + 1/model), as both share the cores;
* the in-process pipeline (``Indexer.run`` on a fresh library, model already loaded);
* ``photosim index`` end to end as a user runs it (a fresh process: imports, model load, scan, save);
* the seeds' approach: full-size decode, torchvision ResNet-50 in fp32 (random weights: the same
  compute as the pretrained ones, which cannot be downloaded here), decoding overlapped on a thread.

Also: how far draft decoding moves the vectors from a full-size decode (min cosine).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from photosim.core.embedder import EfficientNetLite0, Embedder
from photosim.core.images import decode, decode_photo, read_file
from photosim.core.indexer import Indexer, default_workers
from photosim.core.library import Library

from .common import Settings, cores, log, rate
from .corpus import camera_corpus

_BACKBONE = EfficientNetLite0()


def _decode_prepare(path: str) -> np.ndarray:
    photo = decode_photo(read_file(path), _BACKBONE.decode_min_side)
    return _BACKBONE.prepare(photo.image)


def _decode_bound(paths: list[str]) -> dict[str, float]:
    out = {}
    with ProcessPoolExecutor(cores()) as pool:
        list(pool.map(_decode_prepare, paths[: cores() * 2]))  # start the workers, import everything
        t = time.perf_counter()
        list(pool.map(_decode_prepare, paths, chunksize=4))
        out["processes"] = rate(len(paths), time.perf_counter() - t)
    with ThreadPoolExecutor(cores()) as pool:
        t = time.perf_counter()
        list(pool.map(_decode_prepare, paths))
        out["threads"] = rate(len(paths), time.perf_counter() - t)
    t = time.perf_counter()
    for p in paths[: max(8, len(paths) // 4)]:
        _decode_prepare(p)
    out["one_core"] = rate(max(8, len(paths) // 4), time.perf_counter() - t)
    return out


def _model_bound(embedder: Embedder, arrays: list[np.ndarray]) -> dict[str, float]:
    """The embedder alone: as configured, on all cores in one call, and one stream per core."""
    import torch

    threads = torch.get_num_threads()
    bs = embedder.batch_size
    batches = [np.stack(arrays[i : i + bs]) for i in range(0, len(arrays) - bs + 1, bs)]
    n = len(batches) * bs
    out: dict[str, float] = {}
    try:
        for label, nthreads in (("configured", threads), ("all_cores", cores())):
            torch.set_num_threads(nthreads)
            embedder._run(batches[0])  # warm
            t = time.perf_counter()
            for b in batches:
                embedder._run(b)
            out[label] = rate(n, time.perf_counter() - t)
        torch.set_num_threads(1)  # one single-threaded stream per core (the frozen graph is re-entrant)
        with ThreadPoolExecutor(cores()) as pool:
            list(pool.map(embedder._run, batches[: cores()]))
            t = time.perf_counter()
            list(pool.map(embedder._run, batches))
            out["streams"] = rate(n, time.perf_counter() - t)
    finally:
        torch.set_num_threads(threads)
    out["best"] = max(out["all_cores"], out["streams"])
    return out


def _pipeline(embedder: Embedder, folder: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="photosim-bench-lib-") as data:
        with Library(data, embedder=embedder) as lib:
            lib.catalog.add_folder(str(folder))
            report = Indexer(lib).run()
        return {"rate": report.rate, "indexed": report.indexed, "failed": report.failed,
                "seconds": report.seconds, "work_seconds": report.work_seconds}


def _cli(folder: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="photosim-bench-cli-") as data:
        cmd = [sys.executable, "-m", "photosim", "index", str(folder), "--data-dir", data]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"photosim index failed: {proc.stderr[-500:]}")
        n = len(os.listdir(folder))
        query = str(sorted(folder.iterdir())[0].resolve())
        searches = []
        for _ in range(3):  # a library photo as the query (stored vector) and an external copy (embedded)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "photosim", "search", query, "--json", "--data-dir", data],
                           capture_output=True, check=True)
            searches.append(time.perf_counter() - t)
        summary = proc.stderr.strip().splitlines()[-1]
        found = re.search(r"\(([\d.]+) images/s\)", summary)
        own = float(found.group(1)) if found else 0.0
        return {"wall_seconds": wall, "rate_wall": rate(n, wall), "summary": summary, "rate_reported": own,
                "fixed_seconds": wall - n / own if own else 0.0, "search_wall_s": sorted(searches)[1], "files": n}


def _seeds(paths: list[str]) -> float:
    """Full-size decode + ResNet-50 fp32 (NCHW, eager), decode overlapped on one thread."""
    import torch
    import torchvision

    model = torchvision.models.resnet50(weights=None).eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def load(p: str) -> np.ndarray:
        im = decode(read_file(p), 0)  # full size, as the seeds do
        w, h = im.size
        s = 256 / min(w, h)
        im = im.resize((round(w * s), round(h * s)))
        left, top = (im.width - 224) // 2, (im.height - 224) // 2
        return np.asarray(im.crop((left, top, left + 224, top + 224)))

    with torch.inference_mode():
        model(torch.zeros(2, 3, 224, 224))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(1) as pool, torch.inference_mode():
        futures = [pool.submit(load, p) for p in paths]
        batch = 16
        for s in range(0, len(paths), batch):
            arr = np.stack([f.result() for f in futures[s : s + batch]])
            x = (torch.from_numpy(arr).permute(0, 3, 1, 2).float() / 255 - mean) / std
            feats = model(x)
            torch.nn.functional.normalize(feats, dim=1)
    return rate(len(paths), time.perf_counter() - t0)


def _draft_fidelity(embedder: Embedder, paths: list[str]) -> dict[str, float]:
    """Cosine between vectors from the draft decode the indexer uses and from a full-size decode."""
    full = embedder.embed_arrays([_BACKBONE.prepare(decode(read_file(p), 0)) for p in paths])
    out = {}
    for min_side in (_BACKBONE.decode_min_side, 2 * _BACKBONE.input_size):  # now, and v2's draft
        v = embedder.embed_arrays([_BACKBONE.prepare(decode(read_file(p), min_side)) for p in paths])
        out[f"draft_{min_side}_min_cosine"] = float((v * full).sum(axis=1).min())
    return out


def run(settings: Settings) -> dict[str, Any]:
    corpus = camera_corpus(settings.cache, settings.n_jpeg, settings.n_heic, settings.n_png)
    jpeg_folder = Path(tempfile.mkdtemp(prefix="photosim-bench-jpeg-"))
    mixed_folder = Path(tempfile.mkdtemp(prefix="photosim-bench-mixed-"))
    for p in corpus.jpeg:  # a folder holding only the JPEGs: the 12 MP JPEG figure
        os.symlink(p.resolve(), jpeg_folder / p.name)
    for p in corpus.all[-(len(corpus.heic) + len(corpus.png)) - 16:]:
        os.symlink(p.resolve(), mixed_folder / p.name)
    paths = [str(p) for p in corpus.jpeg]
    res: dict[str, Any] = {"files": len(paths), "sideways": corpus.sideways,
                           "file_mb": round(float(np.mean([p.stat().st_size for p in corpus.jpeg])) / 1e6, 2)}
    log(f"throughput: {len(paths)} 12 MP JPEGs ({corpus.sideways} sideways with an EXIF tag)")

    import torch

    embedder = Embedder(_BACKBONE, device="cpu")
    embedder.optimize()  # what the indexer does for any run of OPTIMIZE_MIN_PHOTOS or more
    res["torch_threads"] = torch.get_num_threads()
    res["frozen"] = embedder.optimized
    res["precision"] = embedder.precision
    res["batch"] = embedder.batch_size
    res["workers"] = default_workers()
    res["decode_bound"] = _decode_bound(paths)
    log(f"throughput: decode bound {res['decode_bound']}")
    arrays = [_decode_prepare(p) for p in paths]
    res["model_bound"] = _model_bound(embedder, arrays)
    log(f"throughput: model bound {res['model_bound']}")
    res["pipeline"] = _pipeline(embedder, jpeg_folder)
    log(f"throughput: pipeline {res['pipeline']['rate']:.1f} img/s")
    # the bounds again, after the pipeline, so a change in machine load during the run shows
    res["model_bound_after"] = _model_bound(embedder, arrays)
    res["decode_bound_after"] = _decode_bound(paths[: len(paths) // 2])
    d = max(res["decode_bound"]["processes"], res["decode_bound"]["threads"])
    d2 = max(res["decode_bound_after"]["processes"], res["decode_bound_after"]["threads"])
    d, m = (d + d2) / 2, (res["model_bound"]["best"] + res["model_bound_after"]["best"]) / 2
    res["bound"] = 1.0 / (1.0 / d + 1.0 / m)
    res["pipeline_vs_bound"] = res["pipeline"]["rate"] / res["bound"]
    res["mixed"] = _pipeline(embedder, mixed_folder)
    res["mixed"]["files"] = len(os.listdir(mixed_folder))
    log(f"throughput: mixed formats {res['mixed']['rate']:.1f} img/s")
    res["n_seeds"] = min(settings.n_seeds, len(paths))
    res["seeds"] = _seeds(paths[: settings.n_seeds])
    res["speedup_vs_seeds"] = res["pipeline"]["rate"] / res["seeds"]
    log(f"throughput: seeds' approach {res['seeds']:.1f} img/s")
    res["cli"] = _cli(jpeg_folder)
    log(f"throughput: photosim index (CLI) {res['cli']['rate_wall']:.1f} img/s wall, {res['cli']['summary']}")
    res["draft"] = _draft_fidelity(embedder, paths[:16])
    log(f"throughput: draft fidelity {res['draft']}")
    return res


def markdown(r: dict[str, Any]) -> str:
    db, da = r["decode_bound"], r["decode_bound_after"]
    mb, ma = r["model_bound"], r["model_bound_after"]
    cli = r["cli"]
    lines = [
        f"{r['files']} camera JPEGs, 4000x3000, q90, {r['file_mb']} MB each, {r['sideways']} stored sideways "
        f"with an EXIF orientation tag. Indexer defaults on this machine: model in {r['precision']}, frozen: "
        f"{r['frozen']}, batch {r['batch']}, {r['torch_threads']} model thread(s), {r['workers']} decode threads.",
        "",
        "| what | images/s |",
        "| --- | ---: |",
        f"| decode bound: read + draft decode + prepare, {cores()} processes (threads) | "
        f"{db['processes']:.1f} ({db['threads']:.1f}); after the pipeline {da['processes']:.1f} ({da['threads']:.1f}) |",
        f"| decode, one core | {db['one_core']:.1f} |",
        f"| model bound, all cores: one model on {cores()} threads / one single-threaded model per core | "
        f"{mb['all_cores']:.1f} / {mb['streams']:.1f}; after the pipeline {ma['all_cores']:.1f} / {ma['streams']:.1f} |",
        f"| model alone as the indexer runs it ({r['torch_threads']} thread(s)) | {mb['configured']:.1f} |",
        f"| bound for decode + model sharing the cores, 1/(1/decode + 1/model), best of each | {r['bound']:.1f} |",
        f"| **photosim pipeline** (Indexer.run, model loaded) | **{r['pipeline']['rate']:.1f}** |",
        f"| `photosim index` on the {cli['files']} files, new process: its own rate (excluding start-up) | "
        f"{cli['rate_reported']:.1f} |",
        f"| the same, wall clock including {cli['fixed_seconds']:.1f} s of start-up (imports, model load and "
        f"freeze, scan, save) | {cli['rate_wall']:.1f} |",
        f"| `photosim search IMG --json` end to end (new process, model load), seconds | {cli['search_wall_s']:.2f} |",
        f"| mixed formats ({r['mixed']['files']} files: JPEG, HEIC, PNG), pipeline | {r['mixed']['rate']:.1f} |",
        f"| seeds' approach: full-size decode + ResNet-50 fp32 (first {r['n_seeds']} files) | {r['seeds']:.1f} |",
        "",
        f"Pipeline / bound: **{r['pipeline_vs_bound']:.2f}**. Pipeline / seeds' approach: "
        f"**{r['speedup_vs_seeds']:.1f}x**.",
        "Draft decoding vs full-size decode, min cosine of the vectors: "
        + ", ".join(f"{k.replace('_min_cosine', '')}: {v:.4f}" for k, v in r["draft"].items()) + ".",
    ]
    return "\n".join(lines)
