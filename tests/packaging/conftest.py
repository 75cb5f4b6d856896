"""Fixtures for the packaging tests: one ONNX export of the current backbone per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def onnx_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The current backbone exported exactly as ``packaging/build.sh`` exports it (about 20 s)."""
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (it is in the dev extra)")
    pytest.importorskip("onnx", reason="onnx is not installed (it is in the dev extra)")
    from photosim.core.onnx_export import export_onnx

    out = tmp_path_factory.mktemp("onnx-model")
    export_onnx(None, out)
    return out
