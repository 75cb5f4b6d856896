"""One device choice: auto / cpu / gpu resolved in one place, with a CPU fall-back the user hears about."""

from __future__ import annotations

import pytest

from photosim.core import devices
from photosim.core.embedder import EmbedderError, resolve_backbone
from photosim.core.library import Library


def test_the_vocabulary_is_auto_cpu_gpu_and_accepts_the_old_names() -> None:
    assert devices.DEVICE_CHOICES == ("auto", "cpu", "gpu")
    assert [devices.normalize_choice(v) for v in (None, "", "AUTO", "cpu", "gpu", "cuda", "mps")] == [
        "auto", "auto", "auto", "cpu", "gpu", "gpu", "gpu"]
    with pytest.raises(EmbedderError, match="unknown device"):
        devices.normalize_choice("tpu")


def test_plans_follow_what_this_machine_has() -> None:
    assert devices.plan_for("cpu").device == "cpu"
    gpu = devices.gpu_device("torch")
    auto = devices.plan_for("auto", "torch")
    assert auto.device == (gpu or "cpu") and auto.runtime == "torch"
    if gpu is None:
        with pytest.raises(EmbedderError, match="no usable GPU"):
            devices.plan_for("gpu", "torch")


def test_asking_for_a_gpu_that_is_not_there_falls_back_to_the_cpu_with_a_notice(monkeypatch, embedder) -> None:  # noqa: ANN001
    made: list[str] = []

    def fake_create(backbone, device="auto", runtime=None):  # noqa: ANN001, ANN202 - the real session model
        made.append(device)
        if device != "cpu":
            raise EmbedderError("CUDA driver not usable")
        return embedder

    monkeypatch.setattr("photosim.core.runtime.create_embedder", fake_create)
    monkeypatch.setattr(devices, "gpu_device", lambda runtime: None)
    loaded = devices.load_embedder(resolve_backbone(None), "gpu")
    assert loaded.plan.device == "cpu" and loaded.embedder is embedder
    assert loaded.notice and "CPU" in loaded.notice
    # A GPU that is there but will not start: the same fall-back.
    monkeypatch.setattr(devices, "gpu_device", lambda runtime: "cuda")
    loaded = devices.load_embedder(resolve_backbone(None), "auto")
    assert made[-2:] == ["cuda", "cpu"] and loaded.plan.device == "cpu" and "could not start" in loaded.notice


def test_the_library_uses_the_choice_and_keeps_the_notice(monkeypatch, tmp_path, embedder) -> None:  # noqa: ANN001
    monkeypatch.setattr("photosim.core.runtime.create_embedder", lambda backbone, device="auto", runtime=None: embedder)
    monkeypatch.setattr(devices, "gpu_device", lambda runtime: None)
    with Library(tmp_path / "lib", device="gpu") as lib:
        assert lib.device_choice == "gpu"
        assert lib.embedder is embedder
        assert lib.compute_plan is not None and lib.compute_plan.device == "cpu"
        assert "CPU" in (lib.compute_notice or "")
