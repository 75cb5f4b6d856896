"""Run the benchmark suite: ``python -m bench.run [--quick] [--only NAME ...]`` (or ``make bench``).

Writes ``bench-results/results-<timestamp>.md`` and ``.json`` (and ``latest.md`` / ``latest.json``).
The generated corpora are cached in ``bench-results/cache`` (the first run spends a few minutes
making 12 MP files). The full run takes about 31 minutes on an idle 2-core machine, 25 of them
building the 1M-vector index; ``--no-million`` leaves that out (about 7 minutes); ``--quick`` takes
a few minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from . import categories, duplicates, formats, index_layer, quality, reachability, startup, throughput
from .common import Settings, log, machine

BENCHMARKS = {"throughput": throughput, "startup": startup, "formats": formats, "quality": quality,
              "categories": categories, "index": index_layer, "reachability": reachability,
              "duplicates": duplicates}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller corpus and indexes (a few minutes)")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--no-million", action="store_true", help="skip the 1M-vector library")
    parser.add_argument("--out", default="bench-results", help="results folder (default bench-results)")
    parser.add_argument("--cache", default=None, help="corpus cache (default OUT/cache)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    cache = Path(args.cache) if args.cache else out / "cache"
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings.make(out, cache, args.quick, full_million=not args.no_million)
    started = dt.datetime.now(dt.timezone.utc)
    results: dict[str, object] = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
                                  "machine": machine()}
    sections: list[str] = []
    for name in args.only or list(BENCHMARKS):
        module = BENCHMARKS[name]
        log(f"--- {name}")
        t = time.perf_counter()
        res = module.run(settings)
        res["seconds"] = round(time.perf_counter() - t, 1)
        results[name] = res
        sections.append(f"## {name}\n\n{module.markdown(res)}\n")
    results["machine_after"] = machine()
    m, m2 = results["machine"], results["machine_after"]
    head = (f"# photosim benchmarks, {results['date']}{' (--quick)' if args.quick else ''}\n\n"
            f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, GPU: {m['gpu'] or 'none'}; "
            f"Python {m['python']}, torch {m['torch']}. Load average (1 min) at start {m['load_average_1m']}, "
            f"at end {m2['load_average_1m']} (a load above the core count means other work shared the CPU).\n\n"
            f"Command: `python -m bench.run{' --quick' if args.quick else ''}"
            f"{' --only ' + ' '.join(args.only) if args.only else ''}{' --no-million' if args.no_million else ''}`\n")
    text = head + "\n" + "\n".join(sections)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    for name in (f"results-{stamp}", "latest"):
        (out / f"{name}.md").write_text(text)
        (out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
    print(text)
    log(f"results written to {out / f'results-{stamp}.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
