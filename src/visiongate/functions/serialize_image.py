"""Lambda "Retrieve data": read an image from object storage and return it base64-encoded.

Event (any shape ``unwrap_event`` accepts)::

    {"s3_bucket": "images", "s3_key": "cats/cat.png"}

Response::

    {"statusCode": 200, "body": {"image_data": "<base64>", "s3_bucket": "images",
                                 "s3_key": "cats/cat.png", "inferences": []}}

Step Functions passes at most 256 KiB between states
(https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html). When the
base64 text would exceed ``MAX_INLINE_IMAGE_BYTES`` (default 200,000), the body carries
``"image_data": null`` and ``"image_ref": {"s3_bucket", "s3_key"}`` instead, and the
classify function reads the object itself. Other fields of the input body pass through.

Environment: ``VISIONGATE_STORE_BACKEND`` (``s3`` on Lambda), ``MAX_IMAGE_BYTES``,
``MAX_INLINE_IMAGE_BYTES``; see docs/foundation.md.
"""

from __future__ import annotations

import base64
from typing import Any

from visiongate.config import load_settings
from visiongate.functions.events import require_str, respond, unwrap_event
from visiongate.functions.image_source import read_image
from visiongate.functions.logs import FunctionLog, logged
from visiongate.storage import open_store

# Fields this function writes; any other field of the input body passes through.
_PRODUCED = {"image_data", "image_ref", "s3_bucket", "s3_key", "inferences"}


def base64_length(size: int) -> int:
    """Length of the base64 text of ``size`` bytes."""
    return 4 * ((size + 2) // 3)


@logged("serialize_image")
def handler(event: Any, context: Any, log: FunctionLog) -> dict[str, Any]:
    body = unwrap_event(event)
    bucket = require_str(body, "s3_bucket", "images")
    key = require_str(body, "s3_key", "cats/cat.png")
    settings = load_settings()
    log.info("reading", s3_bucket=bucket, s3_key=key, backend=settings.store_backend)

    data, content_type = read_image(open_store(settings), bucket, key, settings.max_image_bytes)
    inline = base64_length(len(data)) <= settings.max_inline_image_bytes
    result: dict[str, Any] = {
        "image_data": base64.b64encode(data).decode("ascii") if inline else None,
        "s3_bucket": bucket,
        "s3_key": key,
        "inferences": [],
    }
    if not inline:
        result["image_ref"] = {"s3_bucket": bucket, "s3_key": key}
    result.update({k: v for k, v in body.items() if k not in _PRODUCED})
    log.info(
        "serialized",
        bytes=len(data),
        content_type=content_type,
        inline=inline,
        base64_bytes=base64_length(len(data)),
    )
    return respond(result)
