"""What a job sets up around the engine for its run, and takes down afterwards.

Local Lambda handlers read their configuration the way they do on Lambda — from environment
variables, through ``load_settings()`` — so a job that runs the workflow with particular
settings (an endpoint on a free port, another threshold) must put those settings in the
environment for the duration of the run. The engine's own ``prepare_environment`` only fills
in variables that are unset, which is right for a long-lived process but not for a notebook
or a demo that starts a second endpoint on another port.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from visiongate.config import Settings

FUNCTION_LOGGER = "visiongate.functions"


def handler_environment(settings: Settings) -> dict[str, str | None]:
    """The variables that make ``load_settings()`` inside a handler agree with ``settings``."""
    env: dict[str, str | None] = {
        "VISIONGATE_HOME": str(settings.home),
        "VISIONGATE_STORE_BACKEND": settings.store_backend,
        "VISIONGATE_STORE_ROOT": str(settings.store_root) if settings.store_root else None,
        "VISIONGATE_ENDPOINT": settings.endpoint_name,
        "VISIONGATE_ENDPOINT_URL": settings.endpoint_url,
        "VISIONGATE_THRESHOLD": repr(settings.threshold),
        "VISIONGATE_DB": str(settings.database),
        "MAX_IMAGE_BYTES": str(settings.max_image_bytes),
        "MAX_INLINE_IMAGE_BYTES": str(settings.max_inline_image_bytes),
    }
    if settings.endpoint_url not in ("", "aws"):
        # boto3 reads this one itself; a stale value from an earlier endpoint would win
        # over the settings for the default URL (see functions.classify).
        env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = settings.endpoint_url
    return env


@contextlib.contextmanager
def job_environment(settings: Settings) -> Iterator[None]:
    """Set the handler environment (restored on exit) and keep function logs off the
    terminal: they are JSON lines meant for a log store, and would tear the progress bar."""
    saved = {name: os.environ.get(name) for name in handler_environment(settings)}
    quiet = logging.NullHandler()
    logger = logging.getLogger(FUNCTION_LOGGER)
    logger.addHandler(quiet)
    try:
        for name, value in handler_environment(settings).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        logger.removeHandler(quiet)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
