"""What a person waits for at the command line: new processes, start-up included (issue 10).

Each row is measured from a new process, as a user types the command, with its reference in the
same run, alternating the two so that a change in machine load hits both:

* ``photosim index`` of the camera corpus (600 files of 12 MP in a full run) into a new library:
  images per second of wall clock, against the seeds' approach (full-size decode + ResNet-50 fp32,
  :func:`bench.throughput._seeds`) on the same files in the same run;
* ``photosim search EXTERNAL.jpg -k 10`` on that library, for two outside photos: an edited copy of
  a library photo (the "same photo" check runs: OpenCV, ORB on the query and its candidates) and a
  photo of something the library does not hold. The quick path (the data folder's cached ONNX graph,
  onnxruntime) against the torch path (``PHOTOSIM_RUNTIME=torch``: importing torch and building the
  network, as every search did before), median of several runs each; the first search of the
  library, which answers with torch and then caches the graph, once;
* ``photosim search --text dog`` (no model at all);
* ``photosim status`` against the same command importing torch to name the device, which is what
  it did before.

Every file is read once before anything is timed (:func:`bench.common.warm_files`), so that the index and the seeds'
reference both read from memory: this machine's disk reads a cold file at 40-90 MB/s, so a cold
600-file index spent half of its wall clock waiting for the disk (22.6 against 47.1 images/s for the
same files warm, 26.6 against 24.9 s of CPU). How long that first read took is reported beside the
figures ("reading the files first").

Subprocesses run without ``PYTHONDONTWRITEBYTECODE`` (photosim's modules keep their bytecode, as an
installed package does) and with the machine's load average recorded around each group.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from .common import Settings, log, rate, warm_files
from .corpus import camera_corpus, source_photos

SEARCH_RUNS = 7
STATUS_RUNS = 9
STATUS_WITH_TORCH = (
    "import sys, torch\n"
    "torch.cuda.is_available()  # what status did to name the device\n"
    "from photosim.cli import run\n"
    "sys.argv[0] = 'photosim'\n"
    "run()\n"
)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PHOTOSIM_RUNTIME", "PHOTOSIM_MODEL_DIR")}
    env.update(extra)
    return env


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed ({proc.returncode}): {proc.stderr[-800:]}")
    return seconds, proc


def _photosim(*args: str) -> list[str]:
    return [sys.executable, "-m", "photosim", *args]


def _load() -> float:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0


def _queries(corpus_files: list[Path], n_jpeg: int, folder: Path) -> dict[str, Path]:
    """An edited copy of a library photo (phone-sized, cropped, re-saved) and a photo of something
    the library does not hold (a source photo the corpus never used)."""
    copy_of = corpus_files[len(corpus_files) // 3]
    with Image.open(copy_of) as im:
        from PIL import ImageOps

        upright = ImageOps.exif_transpose(im).convert("RGB")
    w, h = upright.size
    edited = upright.crop((w // 20, h // 20, w - w // 20, h - h // 20)).resize((1600, 1200) if w >= h else (1200, 1600))
    copy_path = folder / "copy-of-a-library-photo.jpg"
    edited.save(copy_path, "JPEG", quality=80)
    sources = source_photos()
    used = {sources[(i * 7) % len(sources)][0] for i in range(n_jpeg)}  # the corpus's own choice of sources
    name, picture = next((n, p) for n, p in sources if n not in used)
    other_path = folder / f"not-in-the-library-{name}.jpg"
    picture.save(other_path, "JPEG", quality=85)
    return {"copy": copy_path, "unrelated": other_path, "copy_of": copy_of}


def diverse_library(cache: Path) -> tuple[list[Path], Image.Image, str]:
    """One 12 MP camera JPEG of each offline source photo but the last (cached), and that last photo,
    left out of the library: a library of different pictures, where the same-photo check's gate
    turns most candidates away (the camera corpus is many crops of few photos, where it cannot)."""
    import numpy as np

    from .corpus import CAMERA_SIZE, _camera_frame, _exif

    sources = source_photos()
    folder = cache / "diverse-v1"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, (name, picture) in enumerate(sources[:-1]):
        path = folder / f"{i:02d}-{name}.jpg"
        files.append(path)
        if not path.exists():
            frame = _camera_frame(picture, np.random.default_rng([5, i]), CAMERA_SIZE)
            tmp = path.with_suffix(".part")
            frame.save(tmp, "JPEG", quality=90, exif=_exif(1, i).tobytes())
            os.replace(tmp, path)
    name, left_out = sources[-1]
    return files, left_out, name


def _cpu(who: int) -> float:
    import resource

    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _index(folder: Path, data: Path) -> dict[str, Any]:
    import resource

    cpu = _cpu(resource.RUSAGE_CHILDREN)
    seconds, proc = _timed(_photosim("index", str(folder), "--data-dir", str(data)), _env())
    cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu
    summary = proc.stderr.strip().splitlines()[-1]
    found = re.search(r"indexed (\d+)", summary)
    indexed = int(found.group(1)) if found else 0
    return {"wall_seconds": round(seconds, 2), "indexed": indexed, "rate_wall": rate(indexed, seconds),
            "cpu_seconds": round(cpu, 2), "cpu_ms_per_photo": round(1000 * cpu / max(indexed, 1), 1),
            "summary": summary}


def _seeds_with_cpu(paths: list[str]) -> tuple[float, float]:
    """The seeds' approach (images/s) and its CPU time per photo in ms (this process, all threads)."""
    import resource

    from .throughput import _seeds

    cpu = _cpu(resource.RUSAGE_SELF)
    images_per_s = _seeds(paths)
    return images_per_s, 1000 * (_cpu(resource.RUSAGE_SELF) - cpu) / len(paths)


def _search_rows(data: Path, queries: dict[str, Path], runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    quick_env, torch_env = _env(), _env(PHOTOSIM_RUNTIME="torch")
    for kind in ("copy", "unrelated"):
        query = queries[kind]
        args = _photosim("search", str(query), "-k", "10", "--json", "--data-dir", str(data))
        quick, slow = [], []
        answers = {}
        for _ in range(runs):  # alternated, so that a change in load hits both
            seconds, proc = _timed(args, quick_env)
            quick.append(seconds)
            answers["quick"] = proc.stdout
            seconds, proc = _timed(args, torch_env)
            slow.append(seconds)
            answers["torch"] = proc.stdout
        out[kind] = {"quick_median_s": round(statistics.median(quick), 3), "quick_min_s": round(min(quick), 3),
                     "torch_median_s": round(statistics.median(slow), 3), "torch_min_s": round(min(slow), 3),
                     "speedup": round(statistics.median(slow) / statistics.median(quick), 1),
                     **_compare(_answer(answers["quick"]), _answer(answers["torch"])),
                     "answer": _answer(answers["quick"])}
    return out


def _compare(quick: list[tuple[str, str]], slow: list[tuple[str, str]]) -> dict[str, Any]:
    """How far the two paths' answers agree. The library holds the torch model's bf16 vectors; the
    quick path's query vector is onnxruntime's fp32 one, 0.001 or so of cosine away, so results whose
    scores tie to that precision may swap places: the copies found and the photos listed are what
    must agree."""
    copies = ({n for n, m in quick if m == "same"}, {n for n, m in slow if m == "same"})
    return {"identical": quick == slow, "same_copies": copies[0] == copies[1], "copies": len(copies[0]),
            "top_same": quick[:1] == slow[:1],
            "shared": len({n for n, _ in quick} & {n for n, _ in slow}), "listed": max(len(quick), len(slow))}


def _answer(stdout: str) -> list[tuple[str, str]]:
    import json

    line = next((json.loads(x) for x in stdout.splitlines() if x.startswith("{")), {"results": []})
    return [(Path(r["path"]).name, r["match"]) for r in line["results"]]


def run(settings: Settings) -> dict[str, Any]:
    n_jpeg = 160 if settings.quick else 600
    corpus = camera_corpus(settings.cache, n_jpeg)
    files = corpus.jpeg[:n_jpeg]
    work = Path(tempfile.mkdtemp(prefix="photosim-bench-startup-"))
    res: dict[str, Any] = {"files": len(files), "load_start": _load()}
    try:
        folder = work / "camera"
        folder.mkdir()
        for p in files:
            os.symlink(p.resolve(), folder / p.name)
        data = work / "data"
        res["warm_read"] = warm_files(files)
        log(f"startup: read the {len(files)} files first: {res['warm_read']}")
        log(f"startup: photosim index of {len(files)} camera JPEGs (new process, new library)")
        # The seeds' approach on 32 files just before and 32 just after the index: the machine is
        # shared, so its load changes; the reference is measured on both sides and averaged.
        n = min(settings.n_seeds, len(files) // 2)
        before, cpu_before = _seeds_with_cpu([str(p) for p in files[:n]])
        res["index"] = _index(folder, data)
        log(f"startup: index {res['index']['rate_wall']:.1f} images/s wall ({res['index']['summary']})")
        after, cpu_after = _seeds_with_cpu([str(p) for p in files[n : 2 * n]])
        res["n_seeds"] = 2 * n
        res["seeds_before_after"] = [round(before, 2), round(after, 2)]
        res["seeds"] = (before + after) / 2
        res["seeds_cpu_ms_per_photo"] = round((cpu_before + cpu_after) / 2, 1)
        res["index_vs_seeds"] = res["index"]["rate_wall"] / res["seeds"]
        log(f"startup: seeds' approach {res['seeds']:.1f} images/s -> {res['index_vs_seeds']:.1f}x")
        res["load_after_index"] = _load()

        # A library of different photos: its own two queries, the same comparison.
        diverse_files, left_out, left_name = diverse_library(settings.cache)
        diverse = work / "diverse"
        diverse.mkdir()
        for p in diverse_files:
            os.symlink(p.resolve(), diverse / p.name)
        diverse_data = work / "diverse-data"
        _index(diverse, diverse_data)
        _timed(_photosim("search", str(diverse_files[0]), "--data-dir", str(diverse_data)), _env())  # caches the graph
        with Image.open(diverse_files[len(diverse_files) // 2]) as im:
            w, h = im.size
            im.convert("RGB").crop((w // 20, h // 20, w - w // 20, h - h // 20)).resize((1600, 1200)).save(
                work / "diverse-copy.jpg", "JPEG", quality=80)
        left_out.save(work / f"diverse-not-in-the-library-{left_name}.jpg", "JPEG", quality=85)
        res["diverse_files"] = len(diverse_files)
        res["diverse_search"] = _search_rows(diverse_data, {"copy": work / "diverse-copy.jpg",
                                                            "unrelated": work / f"diverse-not-in-the-library-{left_name}.jpg"},
                                             SEARCH_RUNS if not settings.quick else 3)
        log(f"startup: search in a library of different photos {res['diverse_search']}")

        queries = _queries(files, n_jpeg, work)
        seconds, proc = _timed(_photosim("search", str(queries["copy"]), "-k", "10", "--json", "--data-dir", str(data)),
                               _env())
        res["first_search_s"] = round(seconds, 2)  # torch answers, then the graph is cached
        res["graph_cached"] = any((data / "models").glob("*.onnx"))
        log(f"startup: first search {seconds:.2f} s (caches the model graph: {res['graph_cached']})")
        res["search"] = _search_rows(data, queries, SEARCH_RUNS if not settings.quick else 3)
        res["copy_of"] = queries["copy_of"].name
        log(f"startup: search {res['search']}")
        text = [_timed(_photosim("search", "--text", "dog", "--data-dir", str(data)), _env())[0]
                for _ in range(STATUS_RUNS)]
        res["text_median_s"] = round(statistics.median(text), 3)
        quick, slow = [], []
        for _ in range(STATUS_RUNS):
            quick.append(_timed(_photosim("status", "--data-dir", str(data)), _env())[0])
            slow.append(_timed([sys.executable, "-c", STATUS_WITH_TORCH, "status", "--data-dir", str(data)], _env())[0])
        res["status"] = {"median_s": round(statistics.median(quick), 3), "min_s": round(min(quick), 3),
                         "with_torch_median_s": round(statistics.median(slow), 3)}
        log(f"startup: status {res['status']}, search --text {res['text_median_s']} s")
        res["load_end"] = _load()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return res


def _agreement(row: dict[str, Any]) -> str:
    if row["identical"]:
        return "identical"
    copies = f"the same {row['copies']} copies" if row["same_copies"] else "different copies"
    top = "same first result" if row["top_same"] else "another first result"
    return f"{copies}, {top}, {row['shared']} of {row['listed']} photos shared (near-ties swap places)"


def markdown(r: dict[str, Any]) -> str:
    idx, s, st = r["index"], r["search"], r["status"]
    met = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    lines = [
        f"New processes, start-up included. Load average (1 min) at the start {r['load_start']}, after the index "
        f"{r['load_after_index']}, at the end {r['load_end']}; the machine has 2 cores.",
        "",
        "| what | result | reference, same run | target |",
        "| --- | ---: | ---: | --- |",
        f"| `photosim index` of {r['files']} camera JPEGs (12 MP), new process, new library: images/s of wall clock "
        f"({idx['wall_seconds']} s) | **{idx['rate_wall']:.1f}** | seeds' approach {r['seeds']:.1f} "
        f"({r['n_seeds']} files, before / after: {r['seeds_before_after'][0]} / {r['seeds_before_after'][1]}): "
        f"**{r['index_vs_seeds']:.1f}x** | >= 60 and >= 12x: "
        f"{met(idx['rate_wall'] >= 60)}, {met(r['index_vs_seeds'] >= 12)} |",
    ]
    if "warm_read" in r:
        w = r["warm_read"]
        lines.append(f"| reading the files first (both of the above then read them from memory) | {w['mb']:.0f} MB in "
                     f"{w['seconds']} s: {w['mb_per_s']:.0f} MB/s (a few GB/s when they were cached already) | | |")
    lines.append(
        f"| CPU time per photo of that index run (all threads, start-up included; less sensitive to other work "
        f"on the machine than wall clock) | {idx['cpu_ms_per_photo']:.0f} ms | seeds' approach "
        f"{r['seeds_cpu_ms_per_photo']:.0f} ms: {r['seeds_cpu_ms_per_photo'] / idx['cpu_ms_per_photo']:.1f}x | |")
    for kind, label in (("copy", "an edited copy of a library photo (same-photo check runs)"),
                        ("unrelated", "a photo of something the library does not hold")):
        row = s[kind]
        lines.append(
            f"| `photosim search EXTERNAL.jpg -k 10`, {label}: median of {SEARCH_RUNS} (best) | "
            f"**{row['quick_median_s']:.2f} s** ({row['quick_min_s']:.2f}) | torch path {row['torch_median_s']:.2f} s "
            f"({row['torch_min_s']:.2f}): {row['speedup']}x; answers: {_agreement(row)} | <= 1.0 s: "
            f"{met(row['quick_median_s'] <= 1.0)} |")
    for kind, label in (("copy", "an edited copy of one of them"), ("unrelated", "a photo the library does not hold")):
        row = r["diverse_search"][kind]
        lines.append(
            f"| the same in a library of {r['diverse_files']} different photos (12 MP), {label}: median of "
            f"{SEARCH_RUNS} (best) | **{row['quick_median_s']:.2f} s** ({row['quick_min_s']:.2f}) | torch path "
            f"{row['torch_median_s']:.2f} s ({row['torch_min_s']:.2f}): {row['speedup']}x; answers: {_agreement(row)} | "
            f"<= 1.0 s: {met(row['quick_median_s'] <= 1.0)} |")
    lines += [
        f"| the first search of a new library (torch answers, then the model graph is cached: once) | "
        f"{r['first_search_s']:.2f} s | | |",
        f"| `photosim search --text dog`, median of {STATUS_RUNS} | {r['text_median_s']:.2f} s | | |",
        f"| `photosim status`, median of {STATUS_RUNS} (best) | **{st['median_s']:.2f} s** ({st['min_s']:.2f}) | "
        f"the same importing torch to name the device (as before): {st['with_torch_median_s']:.2f} s | <= 0.3 s: "
        f"{met(st['median_s'] <= 0.3)} |",
        "",
        f"The edited copy is of `{r['copy_of']}`; the camera corpus holds many crops of each of its few source "
        f"photos, so the copy query has many close candidates and checks up to 8 of them (12 MP files) "
        f"geometrically: a hard case for the same-photo check. Its first results: {s['copy']['answer'][:3]}.",
    ]
    return "\n".join(lines)
