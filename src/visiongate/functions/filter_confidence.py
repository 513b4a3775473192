"""Lambda "Valid confidence": pass the result on only if the model is confident enough.

Event: classify's response (any shape ``unwrap_event`` accepts), whose body carries
``"inferences": [p0, p1, ...]`` and optionally ``"labels": ["bicycle", "motorcycle"]``.

If ``max(inferences) >= THRESHOLD`` (default 0.75) the body passes through unchanged as
``{"statusCode": 200, "body": ...}``. Otherwise the function raises
``THRESHOLD_CONFIDENCE_NOT_MET``: Lambda reports that class name as ``errorType``, and
since the state has no Catch, the execution fails with Error ``THRESHOLD_CONFIDENCE_NOT_MET``
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
"""

from __future__ import annotations

import json
from typing import Any

from visiongate.config import load_settings
from visiongate.functions.errors import THRESHOLD_CONFIDENCE_NOT_MET, InvalidEventError
from visiongate.functions.events import probabilities, respond, unwrap_event
from visiongate.functions.logs import FunctionLog, logged


def _inferences(body: dict[str, Any]) -> list[float]:
    if "inferences" not in body:
        raise InvalidEventError(
            "the event has no 'inferences' field",
            hint="run classify first and pass its output (it adds the class probabilities)",
        )
    value = body["inferences"]
    if isinstance(value, str):  # the original classify returned the endpoint's raw JSON text
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InvalidEventError(
                "inferences is a string but not a JSON list",
                hint="send classify's output: a list of probabilities, e.g. [0.1, 0.9]",
            ) from None
    try:
        return probabilities(value, "inferences")
    except ValueError as exc:
        raise InvalidEventError(
            str(exc), hint="send classify's output: a list of probabilities, e.g. [0.1, 0.9]"
        ) from None


def _label(body: dict[str, Any], index: int) -> str | None:
    labels = body.get("labels")
    if isinstance(labels, list) and 0 <= index < len(labels) and isinstance(labels[index], str):
        return labels[index]
    return None


def below_threshold(
    top: int, probability: float, threshold: float, label: str | None
) -> THRESHOLD_CONFIDENCE_NOT_MET:
    """The gate's error for a top class whose probability is under the threshold (also used
    by the batched workflow's gate, so both fail with the same message)."""
    named = f"class {top} ({label!r})" if label else f"class {top}"
    return THRESHOLD_CONFIDENCE_NOT_MET(
        f"top {named} has probability {probability!r}, below the threshold {threshold!r}",
        hint="route the image to human review, or lower THRESHOLD if this is expected",
        top_class=top,
        probability=probability,
        threshold=threshold,
        label=label,
    )


@logged("filter_confidence")
def handler(event: Any, context: Any, log: FunctionLog) -> dict[str, Any]:
    body = unwrap_event(event)
    inferences = _inferences(body)
    threshold = load_settings().threshold
    top = max(range(len(inferences)), key=inferences.__getitem__)
    probability = inferences[top]
    label = _label(body, top)
    log.info(
        "gated",
        top_class=top,
        label=label,
        probability=probability,
        threshold=threshold,
        passed=probability >= threshold,
    )
    if probability < threshold:
        raise below_threshold(top, probability, threshold, label)
    return respond(body)
