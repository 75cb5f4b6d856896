"""One-off sweep: HNSW recall@10 and latency against connectivity and expansion_search.

``python -m bench.ef_sweep [N] [16,32]`` (after one ``bench.run`` has cached the real vectors). Same synthetic
vectors as ``index_layer``: 30k in the index, 200 fresh queries, plus 200 near-duplicate queries
(an indexed vector with a little noise), which is what duplicate finding asks.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from photosim.core.vectors import VectorIndex

from .index_layer import SyntheticVectors, exact_topk, recall_at_k


def main(n: int = 30_000, connectivities: tuple[int, ...] = (16, 32)) -> None:
    real = np.load(sorted(Path("bench-results/cache").glob("real-vectors-*rp512*.npy"))[0])
    gen = SyntheticVectors(real)
    base = gen.draw(n)
    queries = gen.draw(200, offset=10**9)
    truth = exact_topk(base, queries)
    for conn in connectivities:
        index = VectorIndex(base.shape[1], connectivity=conn)
        t = time.time()
        index._index.add(np.arange(n, dtype=np.uint64), base, threads=2)
        print(f"connectivity {conn}: build {time.time() - t:.1f} s, index memory {index.memory_bytes / 1e6:.0f} MB",
              flush=True)
        for ef in (64, 128, 256, 512, 768, 1024):
            t = time.time()
            found = [index.search(v, 10, expansion=ef)[0] for v in queries]
            ms = (time.time() - t) / len(queries) * 1000
            print(f"  expansion_search {ef}: recall@10 {recall_at_k(found, truth):.3f}, {ms:.2f} ms/query", flush=True)
    rng = np.random.default_rng(1)
    near = base[:200] + rng.normal(0, 0.01, base[:200].shape).astype(np.float32)
    found = [index.search(v, 10, expansion=128)[0] for v in near]
    print(f"near-duplicate queries, connectivity {connectivities[-1]}, expansion 128: recall@10 {recall_at_k(found, exact_topk(base, near)):.3f}")


if __name__ == "__main__":
    import sys

    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30_000,
         tuple(int(c) for c in sys.argv[2].split(",")) if len(sys.argv) > 2 else (16, 32))
