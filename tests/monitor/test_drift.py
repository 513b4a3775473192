"""Drift checks: unshifted traffic is ok, shifted traffic is drift, each with its test and numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.monitor.conftest import (
    CLASSES,
    baseline_from,
    traffic,
    write_captures,
    write_model_dir,
)
from visiongate.monitor.drift import (
    DRIFT,
    OK,
    SKIPPED,
    WARNING,
    Baseline,
    BaselineError,
    Sample,
    Thresholds,
    check_class_mix,
    check_ks,
    compare,
    grade,
    load_baseline,
    psi,
)
from visiongate.monitor.traffic import NoTraffic, drift_report, load_embedder, read_capture_source


def synthetic_baseline(rng: np.random.Generator, n: int = 2000) -> Baseline:
    return Baseline(
        classes=CLASSES,
        class_mix=[0.5, 0.5],
        confidence=0.6 + 0.4 * rng.beta(5, 1.5, n),
        image_stats={
            "brightness": rng.normal(110, 20, n),
            "contrast": rng.normal(40, 8, n),
            "width": np.full(n, 32.0),
            "height": np.full(n, 32.0),
        },
        embedding_mean=np.zeros(4),
        embedding_distances=np.linalg.norm(rng.normal(0, 1, (n, 4)), axis=1),
        n=n,
    )


def synthetic_sample(rng, n=300, brightness=110.0, mix=0.5, confidence_low=0.6, spread=1.0):
    return Sample(
        predicted=(rng.random(n) >= mix).astype(int),
        confidence=confidence_low + (1 - confidence_low) * rng.beta(5, 1.5, n),
        image_stats={
            "brightness": rng.normal(brightness, 20, n),
            "contrast": rng.normal(40, 8, n),
            "width": np.full(n, 32.0),
            "height": np.full(n, 32.0),
        },
        embedding_distances=np.linalg.norm(rng.normal(0, spread, (n, 4)), axis=1),
    )


def by_name(report):
    return {c.name: c for c in report.checks}


def test_traffic_drawn_from_the_baseline_distributions_is_ok_everywhere(rng):
    report = compare(synthetic_baseline(rng), synthetic_sample(rng))
    assert {c.name: c.status for c in report.checks} == {
        "class_mix": OK,
        "confidence": OK,
        "brightness": OK,
        "contrast": OK,
        "width": OK,
        "height": OK,
        "embedding": OK,
    }
    assert report.status == OK


def test_every_check_names_its_test_statistic_p_value_and_thresholds(rng):
    report = compare(synthetic_baseline(rng), synthetic_sample(rng))
    checks = by_name(report)
    assert checks["class_mix"].test == "chi-square goodness of fit"
    assert checks["class_mix"].effect_name == "PSI"
    assert checks["confidence"].test == "two-sample Kolmogorov-Smirnov"
    for check in report.checks:
        assert check.statistic is not None and check.p_value is not None
        assert 0.0 <= check.p_value <= 1.0
        assert check.thresholds
        assert check.n_current == 300 and check.n_baseline == 2000
    # The report is plain JSON (no NaN/inf) for the dashboard and --json.
    json.dumps(report.to_json(), allow_nan=False)


def test_lower_confidence_is_drift_in_the_confidence_check_only(rng):
    report = compare(synthetic_baseline(rng), synthetic_sample(rng, confidence_low=0.3))
    checks = by_name(report)
    assert checks["confidence"].status == DRIFT
    assert checks["confidence"].statistic > 0.2 and checks["confidence"].p_value < 0.01
    assert checks["brightness"].status == OK
    assert report.status == DRIFT


def test_brighter_images_are_drift_in_brightness(rng):
    checks = by_name(compare(synthetic_baseline(rng), synthetic_sample(rng, brightness=150)))
    assert checks["brightness"].status == DRIFT
    assert checks["contrast"].status == OK


def test_a_changed_class_mix_is_drift_with_psi_over_a_quarter(rng):
    check = by_name(compare(synthetic_baseline(rng), synthetic_sample(rng, mix=0.8)))["class_mix"]
    assert check.status == DRIFT
    assert check.effect > 0.25 and check.p_value < 0.01


def test_a_significant_but_negligible_class_mix_change_is_not_drift():
    # 5,000 images at 52/48 against 50/50: chi-square p is small, PSI is ~0.002.
    predicted = np.array([0] * 2600 + [1] * 2400)
    check = check_class_mix([0.5, 0.5], predicted, Thresholds())
    assert check.p_value < 0.01
    assert check.effect < 0.01
    assert check.status == OK


def test_a_class_the_baseline_never_predicted_is_drift_with_a_finite_statistic():
    predicted = np.array([0] * 30 + [1] * 30)
    check = check_class_mix([1.0, 0.0], predicted, Thresholds())
    assert check.status == DRIFT
    assert np.isfinite(check.statistic)


def test_wider_embeddings_are_drift_in_the_embedding_distance(rng):
    checks = by_name(compare(synthetic_baseline(rng), synthetic_sample(rng, spread=1.6)))
    assert checks["embedding"].status == DRIFT
    assert checks["embedding"].test == "two-sample Kolmogorov-Smirnov"


def test_checks_without_data_are_skipped_with_the_reason(rng):
    baseline = synthetic_baseline(rng)
    few = synthetic_sample(rng, n=5)
    report = compare(baseline, few)
    assert {c.status for c in report.checks} == {SKIPPED}
    assert "needs 20 images, has 5" in by_name(report)["confidence"].detail
    assert report.status == SKIPPED
    no_embedding = Baseline(
        baseline.classes,
        baseline.class_mix,
        baseline.confidence,
        baseline.image_stats,
        n=baseline.n,
    )
    check = by_name(compare(no_embedding, synthetic_sample(rng)))["embedding"]
    assert check.status == SKIPPED and "baseline has no values" in check.detail


@pytest.mark.parametrize(
    ("p", "effect", "expected"),
    [
        (0.001, 0.3, DRIFT),
        (0.001, 0.15, WARNING),
        (0.03, 0.3, WARNING),
        (0.2, 0.9, OK),
        (0.001, 0.05, OK),
    ],
)
def test_status_needs_both_significance_and_effect_size(p, effect, expected):
    assert grade(p, effect, 0.05, 0.01, 0.1, 0.2) == expected


def test_psi_is_zero_for_equal_mixes_and_matches_the_formula():
    assert psi([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert psi([0.5, 0.5], [0.8, 0.2]) == pytest.approx(expected)


def test_ks_matches_scipy_on_a_known_pair():
    a = np.arange(100, dtype=float)
    b = a + 50
    check = check_ks("x", a, b, Thresholds())
    assert check.statistic == pytest.approx(0.5)


# --- end to end: images, baseline.json, capture files -------------------------------------


def test_unshifted_captured_images_are_ok_and_brightened_ones_drift(tmp_path, rng):
    validation = traffic(rng, 300)
    model = write_model_dir(tmp_path / "model", baseline_from(validation))
    same = drift_report(model, traffic(rng, 200))
    assert same.status == OK, [(c.name, c.status, c.detail) for c in same.checks]
    brighter = by_name(drift_report(model, traffic(rng, 200, shift=60)))
    assert brighter["brightness"].status == DRIFT
    assert brighter["class_mix"].status == OK
    assert brighter["width"].status == OK


def test_drift_report_reads_sagemaker_capture_folders(tmp_path, rng):
    model = write_model_dir(tmp_path / "model", baseline_from(traffic(rng, 300)))
    folder = write_captures(tmp_path / "captures", traffic(rng, 120, shift=60))
    records = read_capture_source(str(folder))
    assert len(records) == 120
    report = drift_report(model, records, source=str(folder))
    assert by_name(report)["brightness"].status == DRIFT
    assert report.context["captures"] == str(folder)
    assert report.context["embeddings"] is False  # this model has no embedding output


def test_undecodable_captured_inputs_are_counted_not_fatal(tmp_path, rng):
    model = write_model_dir(tmp_path / "model", baseline_from(traffic(rng, 100)))
    records = traffic(rng, 60)
    records[0]["input"] = b"garbage"
    report = drift_report(model, records)
    assert report.context["bad_images"] == 1
    assert by_name(report)["brightness"].n_current == 59
    assert by_name(report)["confidence"].n_current == 60


def test_no_traffic_in_the_window_is_a_clear_error(tmp_path, rng):
    model = write_model_dir(tmp_path / "model", baseline_from(traffic(rng, 50)))
    with pytest.raises(NoTraffic, match="no usable capture records"):
        drift_report(model, [])


def test_traffic_from_another_model_is_refused(tmp_path, rng):
    model = write_model_dir(tmp_path / "model", baseline_from(traffic(rng, 50)))
    records = traffic(rng, 30)
    for r in records:
        r["probabilities"] = [0.2, 0.3, 0.5]
    with pytest.raises(
        BaselineError, match=r"have \[3\] probabilities but the model has 2 classes"
    ):
        drift_report(model, records)


def test_a_missing_or_malformed_baseline_is_a_clear_error(tmp_path):
    with pytest.raises(BaselineError, match="does not exist"):
        load_baseline(tmp_path)
    (tmp_path / "baseline.json").write_text(json.dumps({"classes": ["a"]}))
    with pytest.raises(BaselineError, match="does not follow the baseline contract"):
        load_baseline(tmp_path)


# --- embeddings through a real ONNX model ------------------------------------------------


def write_embedding_model(model_dir):
    """A tiny ONNX model with the contract's outputs: embedding = channel means."""
    import onnx
    from onnx import TensorProto, helper

    weights = helper.make_tensor("w", TensorProto.FLOAT, [3, 2], [1, -1, 0.5, 0.5, -1, 1])
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["input"], ["embedding"], axes=[2, 3], keepdims=0),
            helper.make_node("MatMul", ["embedding", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 32, 32])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 2]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3]),
        ],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, model_dir / "model.onnx")
    meta = json.loads((model_dir / "model.json").read_text())
    meta["outputs"]["embedding"] = "embedding"
    (model_dir / "model.json").write_text(json.dumps(meta))


def test_embedding_distance_uses_the_models_embedding_output(tmp_path, rng):
    validation = traffic(rng, 200)
    model = write_model_dir(tmp_path / "model", baseline_from(validation))
    write_embedding_model(model)
    embed = load_embedder(model)
    assert embed is not None
    vectors = embed([r["input"] for r in validation])
    assert vectors.shape == (200, 3)
    mean = vectors.mean(axis=0)
    baseline = json.loads((model / "baseline.json").read_text())
    baseline["embedding"] = {
        "mean": mean.tolist(),
        "distances": np.linalg.norm(vectors - mean, axis=1).tolist(),
    }
    (model / "baseline.json").write_text(json.dumps(baseline))

    same = by_name(drift_report(model, traffic(rng, 100)))
    assert same["embedding"].status == OK
    shifted = by_name(drift_report(model, traffic(rng, 100, shift=70)))
    assert shifted["embedding"].status == DRIFT
    skipped = by_name(drift_report(model, traffic(rng, 100), embeddings=False))
    assert skipped["embedding"].status == SKIPPED
