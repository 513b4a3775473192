"""Drift: is recent traffic still like the traffic the model was validated on?

Pure functions over arrays. Each check compares one quantity of the current sample
with the model directory's ``baseline.json`` and reports the test used, its
statistic, the p-value where the test has one, the thresholds and a status:

=================  =====================================  ======================
check              test                                   effect size
=================  =====================================  ======================
class_mix          chi-square goodness of fit             PSI (population
                   (expected = baseline shares)           stability index)
confidence         two-sample Kolmogorov–Smirnov          KS statistic D
brightness, ...    two-sample Kolmogorov–Smirnov          KS statistic D
embedding          two-sample KS on the L2 distances      KS statistic D
                   to the baseline's mean embedding
=================  =====================================  ======================

Status rule, the same for every check: **drift** when ``p < p_drift`` *and* the
effect size reaches ``effect_drift``; **warning** when ``p < p_warning`` and the
effect reaches ``effect_warning``; **ok** otherwise. Requiring both keeps large
samples from flagging negligible differences and small samples from flagging noise.
A check without data (too few current samples, no embedding in the baseline) is
**skipped** with the reason. The overall status is the worst of the checks run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from visiongate.errors import VisiongateError
from visiongate.monitor.stats import STAT_NAMES

OK, WARNING, DRIFT, SKIPPED = "ok", "warning", "drift", "skipped"
_SEVERITY = {SKIPPED: -1, OK: 0, WARNING: 1, DRIFT: 2}


class BaselineError(VisiongateError):
    """baseline.json is missing or does not have the shape of the model-dir contract."""


@dataclass(frozen=True)
class Thresholds:
    """When a difference counts. Defaults: 5% / 1% significance; KS D 0.1 / 0.2; PSI 0.1 / 0.25."""

    p_warning: float = 0.05
    p_drift: float = 0.01
    ks_warning: float = 0.1
    ks_drift: float = 0.2
    psi_warning: float = 0.1  # the usual PSI reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 major
    psi_drift: float = 0.25
    min_samples: int = 20


@dataclass(frozen=True)
class CheckResult:
    name: str
    test: str
    statistic: float | None
    p_value: float | None
    effect_name: str | None
    effect: float | None
    thresholds: dict[str, float]
    status: str
    n_baseline: int
    n_current: int
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class DriftReport:
    checks: list[CheckResult]
    n_current: int
    context: dict[str, Any] = field(default_factory=dict)  # model, window, captures source

    @property
    def status(self) -> str:
        run = [c.status for c in self.checks if c.status != SKIPPED]
        return max(run, key=_SEVERITY.__getitem__) if run else SKIPPED

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "n_current": self.n_current,
            "context": self.context,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True)
class Baseline:
    """The parsed ``baseline.json`` of a model directory."""

    classes: list[str]
    class_mix: list[float]
    confidence: np.ndarray
    image_stats: dict[str, np.ndarray]
    embedding_mean: np.ndarray | None = None
    embedding_distances: np.ndarray | None = None
    n: int = 0

    @classmethod
    def from_json(cls, data: Any, source: str = "baseline.json") -> Baseline:
        if not isinstance(data, dict):
            raise BaselineError(f"{source}: expected a JSON object")
        try:
            classes = [str(c) for c in data["classes"]]
            mix = [float(x) for x in data["class_mix"]]
            confidence = np.asarray(data["confidence"], dtype=np.float64)
            stats = {k: np.asarray(v, dtype=np.float64) for k, v in data["image_stats"].items()}
            embedding = data.get("embedding") or {}
            mean = embedding.get("mean")
            distances = embedding.get("distances")
            return cls(
                classes=classes,
                class_mix=mix,
                confidence=confidence.ravel(),
                image_stats={k: v.ravel() for k, v in stats.items()},
                embedding_mean=None if mean is None else np.asarray(mean, dtype=np.float64),
                embedding_distances=None
                if distances is None
                else np.asarray(distances, dtype=np.float64).ravel(),
                n=int(data.get("n", len(confidence))),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BaselineError(
                f"{source} does not follow the baseline contract ({type(exc).__name__}: {exc})",
                hint="regenerate it with visiongate train; see MODEL_DIR.md for the fields",
            ) from None


def load_baseline(model_dir: str | Path) -> Baseline:
    path = Path(model_dir) / "baseline.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(
            f"{path} does not exist", hint="train a model (visiongate train) to get a baseline"
        ) from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"cannot read {path}: {exc}") from None
    baseline = Baseline.from_json(data, str(path))
    if len(baseline.class_mix) != len(baseline.classes):
        raise BaselineError(
            f"{path}: class_mix has {len(baseline.class_mix)} shares for "
            f"{len(baseline.classes)} classes"
        )
    return baseline


@dataclass
class Sample:
    """Current traffic, one entry per image; ``embedding_distances`` optional."""

    predicted: np.ndarray  # int class index per image
    confidence: np.ndarray  # top probability per image
    image_stats: dict[str, np.ndarray]  # brightness/contrast/width/height per image
    embedding_distances: np.ndarray | None = None

    def __len__(self) -> int:
        return int(len(self.predicted))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def grade(
    p_value: float,
    effect: float,
    warn_p: float,
    drift_p: float,
    warn_effect: float,
    drift_effect: float,
) -> str:
    """The shared status rule (module docstring)."""
    if p_value < drift_p and effect >= drift_effect:
        return DRIFT
    if p_value < warn_p and effect >= warn_effect:
        return WARNING
    return OK


def psi(expected: Sequence[float], actual: Sequence[float], floor: float = 1e-4) -> float:
    """Population stability index of two share vectors (shares floored to avoid log 0)."""
    e = np.clip(np.asarray(expected, dtype=np.float64), floor, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), floor, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def _skipped(name: str, test: str, n_base: int, n_cur: int, why: str) -> CheckResult:
    return CheckResult(name, test, None, None, None, None, {}, SKIPPED, n_base, n_cur, why)


def check_class_mix(
    baseline_mix: Sequence[float], predicted: np.ndarray, t: Thresholds, n_baseline: int = 0
) -> CheckResult:
    """Chi-square goodness of fit of current predicted-class counts against baseline shares."""
    from scipy import stats

    test = "chi-square goodness of fit"
    k, n = len(baseline_mix), len(predicted)
    if n < t.min_samples:
        return _skipped("class_mix", test, n_baseline, n, f"needs {t.min_samples} images, has {n}")
    counts = np.bincount(np.asarray(predicted, dtype=np.int64), minlength=k)[:k].astype(float)
    # A class the baseline never predicted would make the expected count 0 (infinite
    # statistic); a small floor keeps the test defined and still strongly significant.
    shares = np.clip(np.asarray(baseline_mix, dtype=np.float64), 1e-4, None)
    expected = shares / shares.sum() * counts.sum()
    statistic, p_value = stats.chisquare(counts, expected)
    effect = psi(baseline_mix, counts / max(counts.sum(), 1))
    status = grade(float(p_value), effect, t.p_warning, t.p_drift, t.psi_warning, t.psi_drift)
    current = ", ".join(f"{s:.2f}" for s in counts / max(counts.sum(), 1))
    base = ", ".join(f"{s:.2f}" for s in baseline_mix)
    return CheckResult(
        "class_mix",
        test,
        float(statistic),
        float(p_value),
        "PSI",
        effect,
        {
            "p_warning": t.p_warning,
            "p_drift": t.p_drift,
            "psi_warning": t.psi_warning,
            "psi_drift": t.psi_drift,
        },
        status,
        n_baseline,
        n,
        f"shares now [{current}] vs baseline [{base}]",
    )


def check_ks(
    name: str, baseline: np.ndarray | None, current: np.ndarray | None, t: Thresholds
) -> CheckResult:
    """Two-sample Kolmogorov–Smirnov test; the effect size is the statistic D itself."""
    from scipy import stats

    test = "two-sample Kolmogorov-Smirnov"
    n_base = 0 if baseline is None else len(baseline)
    n_cur = 0 if current is None else len(current)
    if baseline is None or n_base == 0:
        return _skipped(name, test, n_base, n_cur, "the baseline has no values for it")
    if current is None:
        return _skipped(name, test, n_base, n_cur, "no current values (not computed)")
    if n_cur < t.min_samples:
        return _skipped(name, test, n_base, n_cur, f"needs {t.min_samples} images, has {n_cur}")
    result = stats.ks_2samp(np.asarray(baseline, float), np.asarray(current, float))
    d, p_value = float(result.statistic), float(result.pvalue)
    status = grade(p_value, d, t.p_warning, t.p_drift, t.ks_warning, t.ks_drift)
    detail = f"median {np.median(current):.3g} now vs {np.median(baseline):.3g} in the baseline"
    return CheckResult(
        name,
        test,
        d,
        p_value,
        "D",
        d,
        {
            "p_warning": t.p_warning,
            "p_drift": t.p_drift,
            "d_warning": t.ks_warning,
            "d_drift": t.ks_drift,
        },
        status,
        n_base,
        n_cur,
        detail,
    )


def embedding_distances(embeddings: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """L2 distance of each embedding row to the baseline's mean embedding."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    return np.linalg.norm(embeddings - np.asarray(mean, dtype=np.float64)[None, :], axis=1)


def compare(
    baseline: Baseline,
    sample: Sample,
    thresholds: Thresholds | None = None,
    context: dict[str, Any] | None = None,
) -> DriftReport:
    """Run every check of the current sample against the baseline."""
    t = thresholds or Thresholds()
    checks = [
        check_class_mix(baseline.class_mix, sample.predicted, t, n_baseline=baseline.n),
        check_ks("confidence", baseline.confidence, sample.confidence, t),
    ]
    for stat in STAT_NAMES:
        checks.append(
            check_ks(stat, baseline.image_stats.get(stat), sample.image_stats.get(stat), t)
        )
    checks.append(
        check_ks("embedding", baseline.embedding_distances, sample.embedding_distances, t)
    )
    return DriftReport(checks=checks, n_current=len(sample), context=dict(context or {}))
