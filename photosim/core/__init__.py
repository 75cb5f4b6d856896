"""The photo library engine: everything that turns folders of photos into a searchable index.

Nothing in this package imports Qt (an import-linter contract in pyproject.toml keeps it so).
"""

import sys


def _load_the_system_cxx_runtime_first() -> None:
    """Load libstdc++ before usearch (``vectors``), or torch and onnxruntime break in the process (Linux).

    usearch's compiled module links its own copy of libstdc++ statically and exports that copy's
    GNU_UNIQUE symbols (the ids of the locale facets, 214 of them). Unique symbols bind process-wide
    whatever the dlopen flags, so when usearch is the first to define them, every library loaded
    later against the system libstdc++ gets usearch's facet ids: ``import onnxruntime`` then crashes
    (SIGSEGV) and every ``torch.jit.trace`` spins in std::bad_cast exceptions (the indexer's model
    freeze took minutes instead of 2.5 s). Loaded first, the system libstdc++'s definitions win.
    pillow-heif, which links libstdc++ and used to be imported before usearch, hid this until the
    HEIF library became a lazy import. This package's ``__init__`` runs before any of its modules,
    so it is the one place that covers every import order.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import os

    names = ["libstdc++.so.6"]
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:  # the installed app: the copy its own libraries were built with
        names.insert(0, os.path.join(bundle, "libstdc++.so.6"))
    for name in names:
        try:
            ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
            return
        except OSError:  # not there: then nothing else here links it either
            continue


_load_the_system_cxx_runtime_first()
