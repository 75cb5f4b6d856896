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
        return "the CPU" if self.device == "cpu" else f"the GPU ({self.device.upper()})"


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


def _runtime(runtime: str | None) -> str:
    from .runtime import chosen_runtime

    return chosen_runtime(runtime)


def describe_default(runtime: str | None = None) -> str:
    """The device ``auto`` resolves to (for status displays); "cpu" on any doubt."""
    try:
        return plan_for("auto", runtime).device
    except Exception:
        return "cpu"
