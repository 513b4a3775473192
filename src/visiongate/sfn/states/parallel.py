"""Parallel: runs every branch on the same input; the output is the array of their outputs.

A failing branch fails the state with the branch's own error (the other branches are
aborted). https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html
The branch input is ``Parameters`` (JSONPath) or ``Arguments`` (JSONata) applied to the state
input. Each branch has its own variable scope: it reads the variables around the Parallel
state, and sibling branches never see each other's assignments.
"""

from __future__ import annotations

import json
from typing import Any

from visiongate.sfn.history import dumps
from visiongate.sfn.interpreter import run_block
from visiongate.sfn.runtime import Frame
from visiongate.sfn.states.base import Recoverable
from visiongate.sfn.variables import release


class ParallelState(Recoverable):
    kind = "Parallel"
    entered_type = "ParallelStateEntered"
    exited_type = "ParallelStateExited"

    def __init__(self, name: str, spec: dict[str, Any], compiler: Any) -> None:
        super().__init__(name, spec, compiler)
        self.branches = [compiler.block(branch) for branch in spec["Branches"]]
        self.threaded = not all(branch.pure for branch in self.branches)

    def attempt(self, frame: Frame, raw: Any, entered: str | None, retry_count: int) -> Any:
        run = frame.run
        io = self.io
        context = self.context(frame, entered, retry_count)
        variables = frame.scope
        branch_input = io.task_input(
            io.effective_input(raw, context, variables), context, variables
        )
        input_text = dumps(branch_input)
        started = frame.emit("ParallelStateStarted")
        prior = run.prior_results.pop(self.name, None) if frame.top else None
        succeeded: dict[int, str] = dict(prior or {})

        def branch(index: int, stop: Any) -> Any:
            if prior is not None and index in prior:
                return json.loads(prior[index])  # redrive: this branch already succeeded
            child = frame.child(started, stop)
            try:
                output, text = run_block(child, self.branches[index], branch_input, input_text)
            finally:
                release(child, child.scope)
            succeeded[index] = text
            return output

        count = len(self.branches)
        outputs = self.run_children(frame, "Parallel", count, branch, count, succeeded)
        return io.finish(frame, raw, outputs, context)
