"""Map: runs the ItemProcessor (or legacy Iterator) once per item of an array.

Inline mode (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html):
``ItemsPath`` picks the array from the effective input, ``ItemSelector`` (or the legacy
``Parameters``) builds each iteration's input with ``$$.Map.Item.Index``/``Value``,
``MaxConcurrency``/``MaxConcurrencyPath`` bound the concurrent iterations (0 = as many as
possible, up to 40 inline). The output is the array of iteration outputs, in item order. One
failed iteration fails the state with its error; the others are aborted.

Distributed mode (``ItemProcessor.ProcessorConfig.Mode = DISTRIBUTED``) is delegated to
:mod:`visiongate.sfn.states.distributed`.

In JSONata states ``Items`` (an array, or an expression giving one; default: the state input)
replaces ``ItemsPath``, ``ItemSelector`` is a JSONata template that sees
``$states.context.Map.Item.Index``/``Value``, and ``MaxConcurrency`` may be an expression. Each
iteration has its own variable scope: it reads the variables of the scopes around it, and what
it assigns is gone when the iteration ends.
"""

from __future__ import annotations

import json
from typing import Any

from visiongate.sfn import paths
from visiongate.sfn.errors import StatesError, StatesErrorName
from visiongate.sfn.history import dumps
from visiongate.sfn.interpreter import run_block
from visiongate.sfn.runtime import DEFAULT_INLINE_CONCURRENCY, Aborted, Frame
from visiongate.sfn.states.base import Recoverable
from visiongate.sfn.states.jsonata_io import unexpected_value
from visiongate.sfn.states.jsonpath_io import path_reader, template_reader
from visiongate.sfn.variables import release

_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}


def json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "number")


class MapState(Recoverable):
    kind = "Map"
    entered_type = "MapStateEntered"
    exited_type = "MapStateExited"

    def __init__(self, name: str, spec: dict[str, Any], compiler: Any) -> None:
        super().__init__(name, spec, compiler)
        processor = spec.get("ItemProcessor") or spec.get("Iterator") or {}
        self.block = compiler.block(processor)
        self.jsonata = self.io.jsonata
        self.items_reader = self.selector = None
        self.items_template = self.item_selector = self.concurrency_field = None
        ctx_items = ctx_selector = False
        if self.jsonata:
            io = self.io
            if "Items" in spec:
                self.items_template = io.template(spec["Items"], "Items")
            if "ItemSelector" in spec:
                self.item_selector = io.template(spec["ItemSelector"], "ItemSelector")
            self.concurrency_field = io.field(spec, "MaxConcurrency")
            ctx_items = io.needs_context
        else:
            self.items_reader, ctx_items = path_reader(spec.get("ItemsPath", "$"))
            selector_field = "ItemSelector" if "ItemSelector" in spec else "Parameters"
            if selector_field in spec:
                self.selector, ctx_selector = template_reader(spec[selector_field], selector_field)
        self.max_concurrency = spec.get("MaxConcurrency")
        self.max_concurrency_path = spec.get("MaxConcurrencyPath")
        self.needs_context = self.needs_context or ctx_items or ctx_selector
        self.threaded = not self.block.pure
        mode = (processor.get("ProcessorConfig") or {}).get("Mode", "INLINE")
        self.distributed = None
        if mode == "DISTRIBUTED":
            from visiongate.sfn.states.distributed import DistributedMap

            self.distributed = DistributedMap(self, spec, processor, compiler)

    def items(self, frame: Frame, raw: Any, effective: Any, context: Any) -> Any:
        """The array to iterate: ItemsPath (JSONPath) or Items (JSONata) or the input."""
        if self.jsonata:
            if self.items_template is None:
                items = raw
            else:
                items = self.items_template.evaluate(self.io.env(frame, raw, context))
                if not isinstance(items, list):
                    raise unexpected_value(
                        self.items_template.expressions[0]
                        if len(self.items_template.expressions) == 1
                        else items,
                        "Items",
                        f"an array, but evaluated to {json_type(items)}",
                    )
        else:
            reader = self.items_reader
            items = effective if reader is None else reader(effective, context, frame.scope)
        if not isinstance(items, list):
            raise StatesError(
                StatesErrorName.RUNTIME,
                f"Map state input must be an array but was: {json_type(items)}",
            )
        return items

    def concurrency(self, frame: Frame, raw: Any, effective: Any, context: Any = None) -> int:
        if self.concurrency_field is not None:
            return self.concurrency_field.integer(self.io.env(frame, raw, context), 0)
        value = self.max_concurrency
        if self.max_concurrency_path is not None:
            value = paths.resolve(self.max_concurrency_path, effective, context, frame.scope)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise StatesError(
                    StatesErrorName.RUNTIME,
                    "The MaxConcurrencyPath field refers to value "
                    f"'{dumps(value)}' which is not a valid non-negative integer.",
                )
        return int(value or 0)

    def item_input(
        self,
        frame: Frame,
        raw: Any,
        effective: Any,
        entered: str | None,
        retry_count: int,
        index: int,
        item: Any,
    ) -> Any:
        """One iteration's input: the item, or the ItemSelector built with ``Map.Item``."""
        if self.selector is None and self.item_selector is None:
            return item
        context = frame.context(self.name, entered, retry_count, map_item=(index, item))
        if self.item_selector is not None:
            selector = self.item_selector
            return selector.evaluate(self.io.own_env(selector, frame, raw, context))
        return self.selector(effective, context, frame.scope)  # type: ignore[misc]

    def attempt(self, frame: Frame, raw: Any, entered: str | None, retry_count: int) -> Any:
        if self.distributed is not None:
            return self.distributed.attempt(frame, raw, entered, retry_count)
        run = frame.run
        io = self.io
        context = self.context(frame, entered, retry_count)
        effective = io.effective_input(raw, context, frame.scope)
        items = self.items(frame, raw, effective, context)
        concurrency = self.concurrency(frame, raw, effective, context) or DEFAULT_INLINE_CONCURRENCY
        started = frame.emit(
            "MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)}
        )
        prior = run.prior_results.pop(self.name, None) if frame.top else None
        succeeded: dict[int, str] = dict(prior or {})
        block = self.block
        # The iteration events' details, {"name": ..., "index": n}, built without json.dumps.
        tail = '{"name":' + dumps(self.name) + ',"index":'

        def details(kind: str, index: int) -> str:
            return '{"mapIteration' + kind + 'EventDetails":' + tail + str(index) + "}}"

        def iteration(index: int, stop: Any) -> Any:
            if prior is not None and index in prior:
                return json.loads(prior[index])  # redrive: this iteration already succeeded
            child = frame.child(started, stop)
            child.emit_raw("MapIterationStarted", details("Started", index), None)
            try:
                value = self.item_input(
                    frame, raw, effective, entered, retry_count, index, items[index]
                )
                output, text = run_block(child, block, value)
            except StatesError:
                child.emit_raw("MapIterationFailed", details("Failed", index), None)
                raise
            except Aborted:
                child.emit_raw("MapIterationAborted", details("Aborted", index), None)
                raise
            finally:
                release(child, child.scope)
            child.emit_raw("MapIterationSucceeded", details("Succeeded", index), None)
            succeeded[index] = text
            return output

        outputs = self.run_children(frame, "Map", len(items), iteration, concurrency, succeeded)
        return io.finish(frame, raw, outputs, context)
