"""``photosim --self-test`` is what proves an installer works; it must pass from the source tree too.

Why here as well as in ``make package``: a change to the feature recipe, the samples or the window's
API should fail the ordinary test run with a clear message, not only the slower package build.
Both runs use the ONNX runtime, as the installed app does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (it is in the dev extra)")


@pytest.fixture
def onnx_runtime(monkeypatch: pytest.MonkeyPatch, onnx_model_dir: Path) -> None:
    monkeypatch.setenv("PHOTOSIM_RUNTIME", "onnx")
    monkeypatch.setenv("PHOTOSIM_MODEL_DIR", str(onnx_model_dir))


def _summary(out: str) -> dict:
    line = next(line for line in out.splitlines() if line.startswith("self-test: {"))
    return json.loads(line.removeprefix("self-test: "))


def test_engine_self_test_finds_the_edited_samples(onnx_runtime: None, capsys: pytest.CaptureFixture[str]) -> None:
    from photosim.selftest import QUERIES, run_self_test

    assert run_self_test(window=False) == 0
    report = _summary(capsys.readouterr().out)
    assert report["ok"] and report["runtime"] == "onnx"
    assert report["indexed"] == report["photos"] >= 8
    assert [q["first"] for q in report["queries"]] == [name for name, _edit in QUERIES]


def test_window_self_test_through_the_main_window(
    onnx_runtime: None, qapp, tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: ANN001
) -> None:
    from photosim.cli import main

    shot = tmp_path / "window.png"
    assert main(["--self-test", "--screenshot", str(shot), "--timeout", "240"]) == 0
    report = _summary(capsys.readouterr().out)
    assert report["window_shown_s"] is not None and report["model_ready_s"] is not None
    assert report["indexed"] == report["photos"]
    assert shot.stat().st_size > 10_000  # a real picture of the window, not an empty image


def test_a_missing_samples_folder_fails_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from photosim.selftest import run_self_test

    monkeypatch.setenv("PHOTOSIM_SAMPLES_DIR", str(tmp_path / "nothing-here"))
    assert run_self_test(window=False) == 1
    assert "no sample photos" in capsys.readouterr().err
