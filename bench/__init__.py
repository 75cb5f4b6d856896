"""photosim's benchmark suite: indexing throughput, query latency, the index layer and retrieval quality.

Run it with ``make bench`` or ``python -m bench.run [--quick]``; results land in ``bench-results/`` as
Markdown and JSON. Not part of the test run: the figures depend on the machine and on what else runs.
"""
