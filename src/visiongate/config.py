"""Settings: every default in one place, overridden by visiongate.toml, then by the environment.

Precedence (later wins):
  1. the defaults below (``Settings`` field defaults);
  2. ``visiongate.toml`` in the working directory, or the file named by ``VISIONGATE_CONFIG``;
  3. environment variables (``VISIONGATE_*``, plus the AWS-standard names noted per field).

``visiongate.toml`` example::

    [store]
    backend = "local"              # or "s3" (boto3; honours AWS_ENDPOINT_URL_S3)
    root = ".visiongate/store"     # local backend: bucket = folder under root

    [gate]
    threshold = 0.75

    [endpoint]
    name = "visiongate"
    url = "http://127.0.0.1:8080"

    [database]
    path = ".visiongate/visiongate.db"

    [limits]                       # image bytes (SageMaker: 6 MB) / inline base64 budget
    max_image_bytes = 6291456
    max_inline_image_bytes = 200000

    [functions]                    # Lambda function name -> local handler, the ONLY way
    serialize_image = "visiongate.functions.serialize_image:handler"   # a definition reaches code

    [substitutions]                # CloudFormation-style ${Name} in the definition
    SerializeImageFunctionName = "serialize_image"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from visiongate.errors import ConfigError

DEFAULT_THRESHOLD = 0.75
DEFAULT_ENDPOINT_NAME = "visiongate"
DEFAULT_ENDPOINT_URL = "http://127.0.0.1:8080"
# SageMaker InvokeEndpoint accepts at most 6 MB per request; Step Functions passes at most
# 256 KiB between states, so larger base64 images travel by reference (see functions).
DEFAULT_MAX_IMAGE_BYTES = 6 * 1024 * 1024
DEFAULT_MAX_INLINE_IMAGE_BYTES = 200_000

DEFAULT_FUNCTIONS: dict[str, str] = {
    "serialize_image": "visiongate.functions.serialize_image:handler",
    "classify": "visiongate.functions.classify:handler",
    "filter_confidence": "visiongate.functions.filter_confidence:handler",
}

# The ${Name} placeholders of workflows/image_classification.asl.json and their local values.
DEFAULT_SUBSTITUTIONS: dict[str, str] = {
    "SerializeImageFunctionName": "serialize_image",
    "ClassifyFunctionName": "classify",
    "FilterConfidenceFunctionName": "filter_confidence",
}

WORKFLOWS_DIR = Path(__file__).resolve().parent / "workflows"
DEFAULT_DEFINITION = WORKFLOWS_DIR / "image_classification.asl.json"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build with :func:`load_settings`; never mutate (use ``replace``)."""

    home: Path = Path(".visiongate")
    store_backend: str = "local"
    store_root: Path | None = None  # default: home / "store"
    threshold: float = DEFAULT_THRESHOLD
    endpoint_name: str = DEFAULT_ENDPOINT_NAME
    endpoint_url: str = DEFAULT_ENDPOINT_URL
    db_path: Path | None = None  # default: home / "visiongate.db"
    definition: Path = DEFAULT_DEFINITION
    functions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FUNCTIONS))
    substitutions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SUBSTITUTIONS))
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    max_inline_image_bytes: int = DEFAULT_MAX_INLINE_IMAGE_BYTES  # of base64 text

    @property
    def store_path(self) -> Path:
        return self.store_root if self.store_root is not None else self.home / "store"

    @property
    def database(self) -> Path:
        return self.db_path if self.db_path is not None else self.home / "visiongate.db"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# Environment variable -> (field, parser). AWS-standard names come after ours so ours win.
_ENV: list[tuple[str, str]] = [
    ("VISIONGATE_HOME", "home"),
    ("VISIONGATE_STORE_BACKEND", "store_backend"),
    ("VISIONGATE_STORE_ROOT", "store_root"),
    ("THRESHOLD", "threshold"),
    ("VISIONGATE_THRESHOLD", "threshold"),
    ("ENDPOINT", "endpoint_name"),
    ("VISIONGATE_ENDPOINT", "endpoint_name"),
    ("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", "endpoint_url"),
    ("VISIONGATE_ENDPOINT_URL", "endpoint_url"),
    ("VISIONGATE_DB", "db_path"),
    ("VISIONGATE_DEFINITION", "definition"),
    ("MAX_IMAGE_BYTES", "max_image_bytes"),
    ("MAX_INLINE_IMAGE_BYTES", "max_inline_image_bytes"),
]

_TOML: dict[tuple[str, str], str] = {
    ("store", "backend"): "store_backend",
    ("store", "root"): "store_root",
    ("gate", "threshold"): "threshold",
    ("endpoint", "name"): "endpoint_name",
    ("endpoint", "url"): "endpoint_url",
    ("database", "path"): "db_path",
    ("workflow", "definition"): "definition",
    ("workflow", "home"): "home",
    ("limits", "max_image_bytes"): "max_image_bytes",
    ("limits", "max_inline_image_bytes"): "max_inline_image_bytes",
}


def _coerce(name: str, value: Any, source: str) -> Any:
    if name in {"home", "store_root", "db_path", "definition"}:
        return Path(str(value)).expanduser()
    if name == "threshold":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{source}: threshold {value!r} is not a number",
                hint="use a probability between 0 and 1, e.g. 0.75",
            ) from None
        if not 0.0 <= number <= 1.0:
            raise ConfigError(
                f"{source}: threshold {number} is outside [0, 1]",
                hint="use a probability between 0 and 1, e.g. 0.75",
            )
        return number
    if name in {"max_image_bytes", "max_inline_image_bytes"}:
        try:
            number = int(str(value).replace("_", ""))
        except ValueError:
            number = -1
        if isinstance(value, bool) or number < (1 if name == "max_image_bytes" else 0):
            raise ConfigError(
                f"{source}: {name} {value!r} is not a byte count",
                hint="use a whole number of bytes, e.g. 6291456",
            )
        return number
    if name == "store_backend":
        backend = str(value).lower()
        if backend not in {"local", "s3"}:
            raise ConfigError(
                f"{source}: store backend {value!r} is unknown", hint='use "local" or "s3"'
            )
        return backend
    return str(value)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", hint="fix the file's syntax") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Resolve settings from defaults, ``visiongate.toml`` and the environment, then ``overrides``."""
    environ = os.environ if env is None else env
    values: dict[str, Any] = {}
    functions = dict(DEFAULT_FUNCTIONS)
    substitutions = dict(DEFAULT_SUBSTITUTIONS)

    path = Path(config_file) if config_file else None
    if path is None and environ.get("VISIONGATE_CONFIG"):
        path = Path(environ["VISIONGATE_CONFIG"])
    if path is None and Path("visiongate.toml").is_file():
        path = Path("visiongate.toml")
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist", hint="check VISIONGATE_CONFIG")
        data = _read_toml(path)
        for section, table in data.items():
            if section == "functions" and isinstance(table, dict):
                functions.update({str(k): str(v) for k, v in table.items()})
                continue
            if section == "substitutions" and isinstance(table, dict):
                substitutions.update({str(k): str(v) for k, v in table.items()})
                continue
            if not isinstance(table, dict):
                raise ConfigError(f"{path}: [{section}] must be a table")
            for key, value in table.items():
                target = _TOML.get((section, key))
                if target is None:
                    known = ", ".join(f"{s}.{k}" for s, k in _TOML)
                    raise ConfigError(
                        f"{path}: unknown setting {section}.{key}", hint=f"known settings: {known}"
                    )
                values[target] = _coerce(target, value, f"{path} {section}.{key}")

    for variable, target in _ENV:
        if environ.get(variable):
            values[target] = _coerce(target, environ[variable], f"${variable}")

    known_fields = {f.name for f in fields(Settings)}
    for key, value in overrides.items():
        if key not in known_fields:
            raise ConfigError(f"unknown setting {key!r}")
        if value is not None:
            values[key] = (
                value if key in {"functions", "substitutions"} else _coerce(key, value, key)
            )

    values.setdefault("functions", functions)
    values.setdefault("substitutions", substitutions)
    return Settings(**values)
