"""The compiled state machine: parse → validate → compile, once per definition.

``compile_machine`` takes a definition that :func:`visiongate.sfn.validate.assert_valid`
accepted and builds the tree the interpreter runs: one :class:`~visiongate.sfn.states.base.State`
object per state (its paths, templates and rules precompiled) grouped in :class:`Block` s.
Execution never looks at the JSON again.

``substitute`` resolves CloudFormation-style ``${Name}`` placeholders (``Settings.
substitutions``) before validation, exactly as ``DefinitionSubstitutions`` does on AWS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from visiongate.sfn.errors import InvalidDefinition, Problem, UnsupportedFeature
from visiongate.sfn.states.base import State
from visiongate.sfn.states.jsonata_io import JsonataIO  # noqa: F401 - registers "JSONata"
from visiongate.sfn.states.jsonpath_io import QUERY_LANGUAGES

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def substitute(definition: str, substitutions: dict[str, str]) -> str:
    """Replace every ``${Name}`` that ``substitutions`` defines; others stay as they are."""
    if "${" not in definition:
        return definition

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return substitutions.get(name, match.group(0))

    return _PLACEHOLDER.sub(replace, definition)


def unresolved_placeholders(definition: str) -> list[str]:
    return sorted(set(_PLACEHOLDER.findall(definition)))


@dataclass
class Block:
    """A ``StartAt`` + ``States`` scope: the machine, a branch, or a Map's ItemProcessor."""

    start_at: str
    states: dict[str, State]
    pure: bool  # no state here or nested can wait or call out

    def state_names(self) -> list[str]:
        return list(self.states)


@dataclass
class Machine:
    """A compiled state machine."""

    definition: dict[str, Any]
    text: str
    block: Block
    timeout_seconds: float | None
    query_language: str

    @property
    def start_at(self) -> str:
        return self.block.start_at

    @property
    def states(self) -> dict[str, State]:
        return self.block.states


def _state_types() -> dict[str, type[State]]:
    from visiongate.sfn.states.choice import ChoiceState
    from visiongate.sfn.states.fail import FailState
    from visiongate.sfn.states.map_ import MapState
    from visiongate.sfn.states.parallel import ParallelState
    from visiongate.sfn.states.pass_ import PassState
    from visiongate.sfn.states.succeed import SucceedState
    from visiongate.sfn.states.task import TaskState
    from visiongate.sfn.states.wait import WaitState

    return {
        "Pass": PassState,
        "Task": TaskState,
        "Choice": ChoiceState,
        "Wait": WaitState,
        "Succeed": SucceedState,
        "Fail": FailState,
        "Parallel": ParallelState,
        "Map": MapState,
    }


class Compiler:
    """Builds State objects; carries the query language in force for each scope."""

    def __init__(self, query_language: str = "JSONPath") -> None:
        self.query_language = query_language
        self.types = _state_types()

    def io(self, spec: dict[str, Any], state: State) -> Any:
        language = spec.get("QueryLanguage", self.query_language)
        processor = QUERY_LANGUAGES.get(language)
        if processor is None:
            raise UnsupportedFeature(  # validation refuses unknown languages first
                f"state {state.name!r} uses QueryLanguage {language!r}, which this engine does "
                "not know",
                hint='use "QueryLanguage": "JSONPath" (the default) or "JSONata"',
            )
        parameters_field = None if spec.get("Type") == "Map" else "Parameters"
        return processor(spec, parameters_field=parameters_field)

    def block(self, spec: dict[str, Any]) -> Block:
        states: dict[str, State] = {}
        for name, state_spec in spec["States"].items():
            state_type = self.types[state_spec["Type"]]
            states[name] = state_type(name, state_spec, self)
        pure = all(
            state.pure and all(getattr(b, "pure", True) for b in _nested_blocks(state))
            for state in states.values()
        )
        return Block(start_at=spec["StartAt"], states=states, pure=pure)


def _nested_blocks(state: State) -> list[Block]:
    blocks = list(getattr(state, "branches", ()))
    if getattr(state, "block", None) is not None:
        blocks.append(state.block)  # type: ignore[attr-defined]
    return blocks


def parse_definition(definition: str | dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(dict, canonical JSON text) of a definition given as text or a dict."""
    if isinstance(definition, dict):
        return definition, json.dumps(definition, separators=(",", ":"))
    try:
        parsed = json.loads(definition)
    except json.JSONDecodeError as exc:
        raise InvalidDefinition(
            [
                Problem(
                    "INVALID_JSON_DESCRIPTION",
                    f"Invalid State Machine Definition: {exc.msg} at line {exc.lineno} "
                    f"column {exc.colno}",
                )
            ]
        ) from None
    return parsed, definition


@lru_cache(maxsize=256)
def _compile_text(text: str) -> Machine:
    from visiongate.sfn.validate import assert_valid

    definition = assert_valid(text)
    language = definition.get("QueryLanguage", "JSONPath")
    block = Compiler(language).block(definition)
    timeout = definition.get("TimeoutSeconds")
    return Machine(
        definition=definition,
        text=text,
        block=block,
        timeout_seconds=float(timeout) if timeout is not None else None,
        query_language=language,
    )


def compile_machine(definition: str | dict[str, Any]) -> Machine:
    """Validate and compile (cached by definition text). Raises InvalidDefinition."""
    _parsed, text = parse_definition(definition)
    return _compile_text(text)
