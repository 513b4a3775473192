"""The summary figures and the HTML report."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from visiongate.jobs.report import confusion, render_html, summarize, write_report
from visiongate.jobs.results import FAILED, SUCCEEDED, ResultRow

GATE = "THRESHOLD_CONFIDENCE_NOT_MET"
ROWS = [
    ResultRow("b", "1.png", "cat", 0.95, SUCCEEDED),
    ResultRow("b", "2.png", "dog", 0.90, SUCCEEDED),  # wrong: it is a cat
    ResultRow("b", "3.png", "dog", 0.99, SUCCEEDED),
    ResultRow("b", "4.png", "cat", 0.55, FAILED, GATE, "below"),  # wrong, and caught by the gate
    ResultRow("b", "<script>5.png", None, None, FAILED, "NotAnImageError", "text"),
]
TRUTH = {"1.png": "cat", "2.png": "cat", "3.png": "dog", "4.png": "dog", "<script>5.png": "cat"}


def test_summary_counts_and_accuracies() -> None:
    s = summarize(ROWS, TRUTH)
    assert (s.processed, s.passed, s.below_threshold, s.errors) == (5, 3, 1, 1)
    assert s.coverage == 3 / 5
    assert s.accuracy == 2 / 4  # of the four classified images
    assert s.accuracy_passed == 2 / 3  # of the three that passed the gate
    assert summarize(ROWS).accuracy is None  # no truth, no accuracy


def test_confusion_rows_are_true_classes_columns_predictions() -> None:
    assert confusion(ROWS, TRUTH, ["cat", "dog"]) == [[1, 1], [1, 1]]


def test_report_embeds_both_plots_and_escapes_keys(tmp_path: Path) -> None:
    path = write_report(
        tmp_path / "r.html",
        ROWS,
        threshold=0.75,
        truth=TRUTH,
        classes=["cat", "dog"],
        title="t",
        facts={"throughput": "9 images/s"},
    )
    text = path.read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 2
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "<script>5.png" not in text and "&lt;script&gt;5.png" in text
    assert "9 images/s" in text and "66.7%" in text


def test_without_labels_the_report_has_the_histogram_only() -> None:
    text = render_html(ROWS, threshold=0.75)
    assert len(re.findall(r"data:image/png;base64,", text)) == 1
