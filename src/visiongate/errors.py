"""The project-wide error base.

    VisiongateError                  every expected failure; has a message and a hint
    ├── ConfigError                  bad visiongate.toml or environment variable
    ├── storage.errors.StorageError  object store (NoSuchBucket, NoSuchKey, InvalidKey, ...)
    ├── functions.errors.*           Lambda handler errors, named as Lambda reports them
    ├── sfn.errors.*                 engine: validation (SCHEMA_VALIDATION_FAILED) and States.* runtime
    ├── model.errors.*               datasets, training, evaluation
    └── serving.errors.*             model server (ValidationError, ModelError, ...)

The CLI turns any VisiongateError into a one-line message plus its hint and a
non-zero exit code; anything else is a bug and shows a traceback.
"""

from __future__ import annotations


class VisiongateError(Exception):
    """An expected failure with a message that says what was wrong and what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(VisiongateError):
    """visiongate.toml or an environment variable holds a value we cannot use."""
