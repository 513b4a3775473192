"""From a finished execution to result rows: what the workflow said about each image.

* a *batched* execution's output carries one item per input key, in input order
  (``{"items": [{"inferences", "passed", "error"?, "cause"?}], "labels"?}``); a failed or
  aborted batched execution gives every key its error;
* a *per-image* execution of the reference workflow succeeds with classify's body (its
  ``inferences``) or fails with ``THRESHOLD_CONFIDENCE_NOT_MET`` and the like — then the
  probabilities come from the execution's history (the runner's ``inferences``).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from visiongate.jobs.results import FAILED, SUCCEEDED, ResultRow, short_cause


def top(inferences: list[float], labels: list[str] | tuple[str, ...] | None) -> tuple[str, float]:
    best = max(range(len(inferences)), key=inferences.__getitem__)
    label = labels[best] if labels and best < len(labels) else str(best)
    return label, float(inferences[best])


def output_body(execution: Any) -> dict[str, Any]:
    try:
        output = json.loads(execution.output or "null")
    except ValueError:
        return {}
    body = output.get("body") if isinstance(output, dict) else None
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            body = json.loads(body)
    return body if isinstance(body, dict) else {}


def rows_from_batch(
    execution: Any, bucket: str, keys: tuple[str, ...], labels: tuple[str, ...] | None
) -> list[ResultRow]:
    """One row per key of a batched execution (items come back in input order)."""
    if execution.status != SUCCEEDED:
        cause = short_cause(execution.cause)
        return [
            ResultRow(
                bucket,
                key,
                None,
                None,
                FAILED,
                execution.error or execution.status,
                cause,
                execution.arn,
            )
            for key in keys
        ]
    body = output_body(execution)
    items = body.get("items") if isinstance(body.get("items"), list) else []
    names = body.get("labels") or labels
    rows = []
    for position, key in enumerate(keys):
        item = (
            items[position] if position < len(items) and isinstance(items[position], dict) else {}
        )
        inferences = item.get("inferences") or None
        label, confidence = top(inferences, names) if inferences else (None, None)
        if item.get("passed"):
            rows.append(
                ResultRow(bucket, key, label, confidence, SUCCEEDED, None, None, execution.arn)
            )
        else:
            error = item.get("error") or "States.Runtime"
            cause = short_cause(item.get("cause")) or "the batch returned no result for this item"
            rows.append(
                ResultRow(bucket, key, label, confidence, FAILED, error, cause, execution.arn)
            )
    return rows


def row_from_single(
    runner: Any, execution: Any, bucket: str, key: str, labels: tuple[str, ...] | None
) -> ResultRow:
    """The row of a per-image execution of the reference workflow."""
    if execution.status == SUCCEEDED:
        inferences = output_body(execution).get("inferences") or None
    else:
        inferences = runner.inferences(execution)
    label, confidence = top(inferences, labels) if inferences else (None, None)
    if execution.status == SUCCEEDED:
        return ResultRow(bucket, key, label, confidence, SUCCEEDED, None, None, execution.arn)
    return ResultRow(
        bucket,
        key,
        label,
        confidence,
        FAILED,
        execution.error or execution.status,
        short_cause(execution.cause),
        execution.arn,
    )
