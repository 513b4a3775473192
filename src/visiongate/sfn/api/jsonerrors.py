"""JSON syntax errors worded the way Step Functions (a Java service using Jackson) words them.

AWS reports a bad execution input or definition with Jackson's parser messages, e.g.

    Invalid State Machine Execution Input: 'Unrecognized token 'not': was expecting (JSON
    String, Number, Array, Object or token 'null', 'true' or 'false')'
    Invalid State Machine Execution Input: 'Unexpected character (''' (code 39)): was
    expecting double-quote to start field name'

(recorded against AWS in LocalStack's ``test_sfn_api.snapshot.json``, test
``test_invalid_start_execution_input``). :func:`describe` maps Python's ``JSONDecodeError`` to
the same wording, with Jackson's 1-based line/column and ``[Source: ...]`` location.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[A-Za-z0-9_$]+")
_SOURCE_LIMIT = 500  # Jackson shows at most this many characters of the source


@dataclass(frozen=True)
class JsonSyntaxError:
    message: str  # Jackson's message, without the location
    line: int
    column: int
    source: str  # "[Source: (String)"..."; line: L, column: C]"

    @property
    def with_location(self) -> str:
        return f"{self.message}\n at {self.source}"


def _char(c: str) -> str:
    if ord(c) < 32:
        return f"(CTRL-CHAR, code {ord(c)})"
    return f"'{c}' (code {ord(c)})"


def _enclosing(text: str, pos: int) -> str:
    """'Object' or 'Array': the innermost container open at ``pos`` (strings skipped)."""
    stack: list[str] = []
    in_string = escaped = False
    for c in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            stack.append(c)
        elif c in "}]" and stack:
            stack.pop()
    return "Array" if stack and stack[-1] == "[" else "Object"


def _position(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column


def _source(text: str, line: int, column: int) -> str:
    shown = text if len(text) <= _SOURCE_LIMIT else text[:_SOURCE_LIMIT]
    truncated = (
        f"[truncated {len(text) - _SOURCE_LIMIT} chars]" if len(text) > _SOURCE_LIMIT else ""
    )
    return f'[Source: (String)"{shown}"{truncated}; line: {line}, column: {column}]'


def describe(text: str, exc: json.JSONDecodeError) -> JsonSyntaxError:
    """Jackson's wording for the first syntax error Python found in ``text``."""
    pos = min(exc.pos, len(text))
    at = text[pos] if pos < len(text) else ""
    after = pos + 1  # Jackson reports the column after the offending character
    if exc.msg == "Expecting value":
        if not at:
            message = (
                "No content to map due to end-of-input"
                if not text.strip()
                else "Unexpected end-of-input: expected a value"
            )
            after = pos
        elif _TOKEN.match(at):
            token = _TOKEN.match(text, pos).group(0)  # type: ignore[union-attr]
            message = (
                f"Unrecognized token '{token}': was expecting (JSON String, Number, Array, "
                "Object or token 'null', 'true' or 'false')"
            )
            after = pos + len(token)
        else:
            message = f"Unexpected character ({_char(at)}): expected a value"
    elif exc.msg.startswith("Expecting property name"):
        message = (
            f"Unexpected character ({_char(at)}): was expecting double-quote to start field name"
            if at
            else "Unexpected end-of-input: expected close marker for Object"
        )
    elif exc.msg == "Expecting ':' delimiter":
        message = (
            f"Unexpected character ({_char(at)}): was expecting a colon to separate field name "
            "and value"
            if at
            else "Unexpected end-of-input: expected close marker for Object"
        )
    elif exc.msg == "Expecting ',' delimiter":
        kind = _enclosing(text, pos)
        message = (
            f"Unexpected character ({_char(at)}): was expecting comma to separate {kind} entries"
            if at
            else f"Unexpected end-of-input: expected close marker for {kind}"
        )
    elif exc.msg == "Extra data":
        message = f"Unexpected character ({_char(at)}): expected end-of-input"
    elif exc.msg.startswith("Unterminated string"):
        message = "Unexpected end-of-input in VALUE_STRING"
        pos = after = len(text)
    elif exc.msg.startswith("Invalid control character"):
        message = (
            f"Illegal unquoted character ({_char(at)}): has to be escaped using backslash to be "
            "included in string value"
        )
    else:
        message = exc.msg
    line, column = _position(text, min(after, len(text)))
    if after > len(text):
        column += after - len(text)
    return JsonSyntaxError(message, line, column, _source(text, line, column))


def parse_error(text: str) -> JsonSyntaxError | None:
    """The syntax error of ``text`` as Jackson reports it, or None when it is valid JSON."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return describe(text, exc)
    except RecursionError:
        return JsonSyntaxError("Document nested too deeply", 1, 1, _source(text, 1, 1))
    return None
