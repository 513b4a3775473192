"""notebooks/walkthrough.ipynb runs from top to bottom (nbclient, the .venv's python3 kernel).

It reuses the session's digits dataset and tiny model (the notebook reuses what exists, as
the demo does), and classifies a few images, so it runs in seconds rather than minutes.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.jobs.conftest import copy_home

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "walkthrough.ipynb"


def outputs_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_the_walkthrough_notebook_runs_end_to_end(
    digits_home: Path, isolated_home: Path, tmp_path: Path, monkeypatch
) -> None:
    copy_home(digits_home, isolated_home)
    monkeypatch.setenv("WALKTHROUGH_EPOCHS", "1")
    monkeypatch.setenv("WALKTHROUGH_LIMIT", "30")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    text = outputs_text(notebook)
    assert "s3://datasets/digits (reused)" in text
    assert "(reused)" in text.split("## 2")[-1]  # the model was reused, not retrained
    assert "30 images in" in text
    assert "captured requests" in text
    images = [
        o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 4  # samples, trade-off, histogram, confidence over time
