"""One device choice: the user's setting (automatic, CPU, GPU) turned into a runtime and a device.

The settings dialog, ``--device`` on the command line and the library service all speak this one
vocabulary (``auto``, ``cpu``, ``gpu``) and resolve it here, once. What a "GPU" is depends on the
runtime: CUDA or Apple's MPS for torch (a development or pip install), CUDA for onnxruntime (the
installed app). A GPU that is asked for but cannot start falls back to the CPU with a notice the
user sees, instead of stopping the app: photos still get indexed, only slower.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .embedder import Backbone, EmbedderError

if TYPE_CHECKING:
    from .model_cache import CachedGraph
    from .runtime import EmbedderLike

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "gpu")
DEVICE_LABELS = {"auto": "Automatic (GPU if there is one)", "cpu": "CPU", "gpu": "GPU"}
#: Older names still accepted (settings files and scripts from the first version).
_ALIASES = {"cuda": "gpu", "mps": "gpu", "": "auto"}


def normalize_choice(value: str | None) -> str:
    """``auto``, ``cpu`` or ``gpu`` from what a user or a settings file says; EmbedderError otherwise."""
    choice = (value or "auto").strip().lower()
    choice = _ALIASES.get(choice, choice)
    if choice not in DEVICE_CHOICES:
        raise EmbedderError(f"unknown device '{value}' (choose from {', '.join(DEVICE_CHOICES)})")
    return choice


@dataclass(frozen=True)
class ComputePlan:
    """How the model will run: the runtime (torch or onnx) and the engine's device name."""

    choice: str
    runtime: str
    device: str  # "cpu", "cuda" or "mps"

    @property
    def label(self) -> str:
        return device_label(self.device)


def device_label(device: str) -> str:
    """An engine's device name in words: "the CPU", "the GPU (CUDA)"."""
    return "the CPU" if device == "cpu" else f"the GPU ({device.upper()})"


def gpu_device(runtime: str) -> str | None:
    """The GPU this runtime can use here ("cuda" or "mps"), or None. Imports the runtime (slow for torch)."""
    if runtime == "torch":
        import torch

        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return None
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    return "cuda" if "CUDAExecutionProvider" in ort.get_available_providers() else None


def plan_for(choice: str | None, runtime: str | None = None) -> ComputePlan:
    """Resolve a choice: ``auto`` takes a GPU where there is one; ``gpu`` without one is an EmbedderError."""
    from .runtime import chosen_runtime

    choice = normalize_choice(choice)
    runtime = chosen_runtime(runtime)
    if choice == "cpu":
        return ComputePlan(choice, runtime, "cpu")
    gpu = gpu_device(runtime)
    if gpu is None:
        if choice == "gpu":
            raise EmbedderError("no usable GPU was found (install a GPU build, or choose the CPU)")
        return ComputePlan(choice, runtime, "cpu")
    return ComputePlan(choice, runtime, gpu)


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to embed, how it runs, and a notice for the user when it had to fall back."""

    embedder: EmbedderLike
    plan: ComputePlan
    notice: str | None = None


def load_embedder(backbone: Backbone, choice: str | None = "auto", runtime: str | None = None) -> LoadedModel:
    """Load the backbone on the chosen device, falling back to the CPU (with a notice) if a GPU fails."""
    from .runtime import create_embedder

    try:
        plan = plan_for(choice, runtime)
    except EmbedderError as exc:
        if normalize_choice(choice) != "gpu":
            raise
        plan = ComputePlan("gpu", _runtime(runtime), "cpu")
        notice = f"{exc}; running on the CPU instead"
        log.warning(notice)
        return LoadedModel(create_embedder(backbone, device="cpu", runtime=plan.runtime), plan, notice)
    try:
        return LoadedModel(create_embedder(backbone, device=plan.device, runtime=plan.runtime), plan)
    except Exception as exc:  # a GPU that is there but will not start (driver, memory): the CPU still works
        if plan.device == "cpu":
            raise
        notice = f"the model could not start on {plan.label} ({exc}); running on the CPU instead"
        log.warning(notice)
        cpu = ComputePlan(plan.choice, plan.runtime, "cpu")
        return LoadedModel(create_embedder(backbone, device="cpu", runtime=plan.runtime), cpu, notice)


def plan_for_queries(choice: str | None, runtime: str | None = None, *, graph_ready: bool = False) -> ComputePlan:
    """How a short-lived process that embeds a few query photos (``photosim search``) runs the model.

    A query is one forward pass of about 20 ms on the CPU, so what a person waits for is the start:
    onnxruntime with an exported graph starts in about 0.2 s, torch in 2-3 s, and a GPU adds its
    driver and kernels. So with ``auto`` or ``cpu`` a query runs the exported graph on the CPU when
    there is one (``graph_ready``: the data folder's cached graph, :mod:`photosim.core.model_cache`)
    and onnxruntime is installed; its vectors match torch's to cosine >= 0.999 (tests compare them), and
    libraries indexed in bf16 or on a GPU are searched at the same recall. ``gpu`` is honoured as
    asked, and ``PHOTOSIM_RUNTIME=torch`` (or ``runtime="torch"``) keeps torch: the benchmark's
    reference. Decided without importing torch or onnxruntime.
    """
    import importlib.util
    import os

    from .runtime import RUNTIME_ENV

    requested = (runtime or os.environ.get(RUNTIME_ENV) or "auto").lower()
    choice = normalize_choice(choice)
    if choice != "gpu" and requested in ("auto", "onnx") and graph_ready:
        try:
            has_ort = importlib.util.find_spec("onnxruntime") is not None
        except (ImportError, ValueError):
            has_ort = False
        if has_ort:
            return ComputePlan(choice, "onnx", "cpu")
    return plan_for(choice, runtime)


def load_query_embedder(backbone: Backbone, choice: str | None, graph: CachedGraph | None,
                        runtime: str | None = None) -> LoadedModel:
    """The model for a few queries (:func:`plan_for_queries`): the cached graph with onnxruntime when
    it may be used, else what :func:`load_embedder` gives (torch here, the shipped graph in the app)."""
    from .runtime import create_embedder

    plan = plan_for_queries(choice, runtime, graph_ready=graph is not None)
    if plan.runtime == "onnx" and graph is not None:
        try:
            return LoadedModel(create_embedder(backbone, device="cpu", runtime="onnx", graph=graph), plan)
        except EmbedderError as exc:  # a graph onnxruntime refuses: torch still answers
            log.warning("the cached model graph could not be loaded (%s); using the full model", exc)
    return load_embedder(backbone, choice, runtime)


def _runtime(runtime: str | None) -> str:
    from .runtime import chosen_runtime

    return chosen_runtime(runtime)


def describe_default(runtime: str | None = None) -> str:
    """The device ``auto`` resolves to (for status displays); "cpu" on any doubt.

    Found without importing torch or onnxruntime (:func:`probe_gpu`): ``photosim status`` needs no
    model, and importing torch alone took 1.5-2 s of its 2.2 s.
    """
    try:
        from .runtime import chosen_runtime

        return probe_gpu(chosen_runtime(runtime)) or "cpu"
    except Exception:
        return "cpu"


def probe_gpu(runtime: str) -> str | None:
    """The GPU ``runtime`` would use here ("cuda" or "mps"), or None, judged without importing it.

    A CUDA GPU needs a runtime built for CUDA (torch's build says so in ``torch/version.py``; for
    onnxruntime it is the ``onnxruntime-gpu`` distribution) and an NVIDIA driver that sees a GPU
    (:func:`cuda_gpu_count`). Apple's MPS is what torch uses on Apple silicon Macs. The model loader
    still asks the runtime itself (:func:`gpu_device`); this answer is for displays, and for choosing
    how a one-off query runs before any runtime is imported.
    """
    import platform
    import sys

    if runtime == "torch" and sys.platform == "darwin" and platform.machine() == "arm64":
        return "mps"
    build = _gpu_build(runtime)
    if build == "cuda":
        return "cuda" if cuda_gpu_count() > 0 else None
    if build == "hip":  # torch for AMD GPUs speaks CUDA's API too; the kernel driver shows as /dev/kfd
        import os

        return "cuda" if os.path.exists("/dev/kfd") else None
    return None


def _gpu_build(runtime: str) -> str | None:
    """"cuda" or "hip" when the installed runtime was built for such GPUs, else None."""
    import importlib.util
    import re

    if runtime == "onnx":
        import importlib.metadata

        try:
            importlib.metadata.version("onnxruntime-gpu")
            return "cuda"
        except importlib.metadata.PackageNotFoundError:
            return None
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    from pathlib import Path

    try:  # the build records its CUDA (or ROCm's HIP) version here; a CPU build writes None
        text = (Path(next(iter(spec.submodule_search_locations))) / "version.py").read_text()
    except OSError:
        return "cuda"  # unusual layout: let the driver probe decide
    for name in ("cuda", "hip"):
        found = re.search(rf"^{name}\b[^=]*=\s*(.+)$", text, re.MULTILINE)
        if found is not None and found.group(1).strip() not in ("None", "''", '""'):
            return name
    return None


def cuda_gpu_count() -> int:
    """NVIDIA GPUs the driver reports, asked through the driver library itself (a few ms; no torch).

    On Linux the driver lists its GPUs under ``/proc/driver/nvidia/gpus``; elsewhere (Windows, WSL)
    the CUDA driver API answers: ``cuInit`` then ``cuDeviceGetCount``. 0 when there is no driver.
    """
    import os
    import sys

    proc = "/proc/driver/nvidia/gpus"
    if sys.platform.startswith("linux") and os.path.isdir(proc):
        try:
            return len(os.listdir(proc))
        except OSError:
            pass
    import ctypes

    names = ("nvcuda.dll",) if sys.platform == "win32" else ("libcuda.so.1", "libcuda.so")
    for name in names:
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        try:
            if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return 0
        except AttributeError:
            return 0
        return int(count.value)
    return 0
