"""The interpreter loop: run a block of states from its start until a terminal state.

A *block* is the top-level ``States`` of a machine, one Parallel branch, or a Map's
ItemProcessor. The top level runs through :mod:`visiongate.sfn.executor`, which adds
checkpoints; nested blocks run here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from visiongate.sfn.runtime import Frame

if TYPE_CHECKING:
    from visiongate.sfn.model import Block


def run_block(frame: Frame, block: Block, value: Any, text: str | None = None) -> tuple[Any, str]:
    """Run ``block`` with ``value`` as input; returns (output, output JSON)."""
    states = block.states
    name: str | None = block.start_at
    stops = frame.stops
    run = frame.run
    while name is not None:
        for stop in stops:
            if stop.is_set():
                frame.check()
        if run.cancel.is_set() or run.deadline is not None:
            run.check()
        name, value, text = states[name].run(frame, value, text)
    return value, text  # type: ignore[return-value]
