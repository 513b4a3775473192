"""Engine errors: two families that never mix.

    VisiongateError
    ├── InvalidDefinition        a definition AWS would reject; carries every problem found
    │                            (messages in AWS's SCHEMA_VALIDATION_FAILED style)
    └── StatesError              a runtime error that fails a state: ``error`` is the name a
                                 Retry/Catch matches (``States.*`` or a function's own error
                                 name), ``cause`` the human-readable detail

Runtime error names are AWS's: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from visiongate.errors import VisiongateError


class StatesErrorName(StrEnum):
    """The predefined error names of Amazon States Language."""

    ALL = "States.ALL"
    HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
    TIMEOUT = "States.Timeout"
    TASK_FAILED = "States.TaskFailed"
    PERMISSIONS = "States.Permissions"
    RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
    PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
    QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
    BRANCH_FAILED = "States.BranchFailed"
    NO_CHOICE_MATCHED = "States.NoChoiceMatched"
    INTRINSIC_FAILURE = "States.IntrinsicFailure"
    EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
    ITEM_READER_FAILED = "States.ItemReaderFailed"
    RESULT_WRITER_FAILED = "States.ResultWriterFailed"
    RUNTIME = "States.Runtime"
    DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"


class StatesError(VisiongateError):
    """A runtime error raised while executing a state; Retry/Catch match on ``error``."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = str(error)
        self.cause = cause

    def __repr__(self) -> str:
        return f"StatesError({self.error!r}, {self.cause!r})"


@dataclass(frozen=True)
class Problem:
    """One reason a definition is invalid. ``location`` is a path like /States/Foo/Next."""

    code: str  # e.g. SCHEMA_VALIDATION_FAILED, MISSING_TRANSITION_TARGET
    message: str
    location: str = ""

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.code}: {self.message}{where}"


class InvalidDefinition(VisiongateError):
    """The definition is not valid Amazon States Language; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = "; ".join(str(p) for p in self.problems[:20])
        more = f" (and {count - 20} more)" if count > 20 else ""
        super().__init__(
            f"Invalid State Machine Definition: '{lines}'{more}",
            hint="fix the listed fields; `visiongate validate FILE` lists them all",
        )


# -- API errors (added by the execution layer) -----------------------------------------------
# One class per AWS error code of the Step Functions API; ``code`` is the name AWS returns in
# the JSON error body (``__type``). They never feed a Retry/Catch: they reject a request.
# https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html


class SfnApiError(VisiongateError):
    """A Step Functions API request was rejected; ``code`` is AWS's error code."""

    code = "ValidationException"
    status = 400

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)


class ValidationException(SfnApiError):
    code = "ValidationException"


class InvalidArn(SfnApiError):
    code = "InvalidArn"


class InvalidName(SfnApiError):
    code = "InvalidName"


class InvalidExecutionInput(SfnApiError):
    code = "InvalidExecutionInput"


class InvalidToken(SfnApiError):
    code = "InvalidToken"


class InvalidOutput(SfnApiError):
    code = "InvalidOutput"


class TaskDoesNotExist(SfnApiError):
    code = "TaskDoesNotExist"


class TaskTimedOut(SfnApiError):
    code = "TaskTimedOut"


class StateMachineDoesNotExist(SfnApiError):
    code = "StateMachineDoesNotExist"


class StateMachineAlreadyExists(SfnApiError):
    code = "StateMachineAlreadyExists"


class StateMachineDeleting(SfnApiError):
    code = "StateMachineDeleting"


class ExecutionDoesNotExist(SfnApiError):
    code = "ExecutionDoesNotExist"


class ExecutionAlreadyExists(SfnApiError):
    code = "ExecutionAlreadyExists"


class ExecutionNotRedrivable(SfnApiError):
    code = "ExecutionNotRedrivable"


class ResourceNotFound(SfnApiError):
    code = "ResourceNotFound"


class UnsupportedFeature(VisiongateError):
    """The definition uses something this engine does not run (validation normally refuses it)."""
