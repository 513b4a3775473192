"""``visiongate demo`` end to end on a tiny configuration, and what a re-run reuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.jobs.conftest import copy_home
from visiongate.config import load_settings
from visiongate.jobs.demo import DemoError, DemoOptions, ensure_dataset, run_demo
from visiongate.jobs.results import read_results
from visiongate.monitor.captures import read_captures
from visiongate.sfn.engine import Engine


@pytest.fixture
def demo_settings(digits_home: Path, isolated_home: Path):
    copy_home(digits_home, isolated_home)
    return load_settings()


def test_the_demo_classifies_the_held_out_images_and_reports(demo_settings) -> None:
    phases = []
    result = run_demo(demo_settings, DemoOptions(limit=40), on_phase=phases.append)
    assert phases == ["dataset", "train", "serve", "workflow", "report"]
    assert result.reused == {"dataset": True, "model": True}
    s = result.summary
    assert s.processed == 40 and s.passed + s.below_threshold + s.errors == 40
    assert s.errors == 0
    assert s.labelled == 40  # every held-out image has its true label from test.lst
    assert result.classes == [str(d) for d in range(10)]

    rows = read_results(result.results_path)
    assert len(rows) == 40 and all(r.key.startswith("digits/test/") for r in rows)
    report = result.report_path.read_text()
    assert "Confusion matrix" in report and "THRESHOLD_CONFIDENCE_NOT_MET" in report

    # The endpoint captured every request, in SageMaker's format, where the dashboard looks.
    captured = list(read_captures(result.captures, settings=demo_settings))
    assert len(captured) == 40
    assert all(len(c.probabilities) == 10 for c in captured)

    with Engine(demo_settings) as engine:
        executions = engine.list_executions(status="SUCCEEDED")
    assert sum(1 for e in executions if e.state_machine_name == "image_classification_batched")

    again = run_demo(demo_settings, DemoOptions(limit=40))  # a re-run is safe and reuses
    assert again.reused == {"dataset": True, "model": True}
    assert len(read_results(again.results_path)) == 40
    assert again.summary.processed == 40
    meta = json.loads((again.model_dir / "model.json").read_text())
    assert meta["classes"] == again.classes


def test_the_cifar100_demo_needs_its_archive(isolated_home) -> None:
    with pytest.raises(DemoError, match="needs the CIFAR-100 archive") as error:
        ensure_dataset(load_settings(), "cifar100")
    assert "--archive" in error.value.hint
    with pytest.raises(DemoError, match="unknown demo dataset"):
        ensure_dataset(load_settings(), "mnist")
