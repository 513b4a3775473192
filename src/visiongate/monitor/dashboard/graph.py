"""The state machine as a graph, with the path an execution took coloured by outcome.

Like the Step Functions console's graph view: a node per top-level state (Map and
Parallel drawn as one node), edges for ``Next``, ``Default``, ``Choices`` and ``Catch``
(dashed), a Start and an End. :func:`outcomes` reads an execution's history events and
says for each state whether it succeeded, failed, was caught, is running or did not run,
and which edges were taken. The layout is layered by breadth-first distance from
``StartAt``; edges that go back up (loops) curve around the right-hand side.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from visiongate.monitor.dashboard.html import Safe, html, join

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 190, 44, 40, 46, 24
START, END = "__start__", "__end__"
TERMINAL_TYPES = {"Succeed", "Fail"}


@dataclass
class Edge:
    source: str
    target: str
    kind: str = "next"  # next | choice | default | catch


@dataclass
class Outcome:
    states: dict[str, str] = field(default_factory=dict)  # name -> succeeded|failed|...
    taken: set[tuple[str, str]] = field(default_factory=set)


def edges_of(definition: dict[str, Any]) -> list[Edge]:
    states = definition.get("States") or {}
    edges = []
    if definition.get("StartAt") in states:
        edges.append(Edge(START, definition["StartAt"]))
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        if isinstance(state.get("Next"), str):
            edges.append(Edge(name, state["Next"]))
        for choice in state.get("Choices") or []:
            if isinstance(choice, dict) and isinstance(choice.get("Next"), str):
                edges.append(Edge(name, choice["Next"], "choice"))
        if isinstance(state.get("Default"), str):
            edges.append(Edge(name, state["Default"], "default"))
        for catch in state.get("Catch") or []:
            if isinstance(catch, dict) and isinstance(catch.get("Next"), str):
                edges.append(Edge(name, catch["Next"], "catch"))
        if state.get("End") is True or state.get("Type") in TERMINAL_TYPES:
            edges.append(Edge(name, END))
    return [e for e in edges if e.target in states or e.target == END]


def outcomes(
    events: list[dict[str, Any]], definition: dict[str, Any], execution_status: str
) -> Outcome:
    """Per-state outcome and taken edges from history events (dicts with type/details)."""
    names = set((definition.get("States") or {}).keys())
    out = Outcome()
    previous = START
    current: str | None = None
    failing = False  # the current state's last attempt failed (a Catch may still move on)
    for event in events:
        kind = str(event.get("type", ""))
        details = event.get("details") or {}
        if kind.endswith(("Failed", "TimedOut")) and not kind.startswith("Execution"):
            failing = True
        elif kind.endswith("Succeeded") and not kind.startswith("Execution"):
            failing = False
        if kind.endswith("StateEntered"):
            name = (details.get("stateEnteredEventDetails") or {}).get("name")
            if name not in names:
                continue
            if current is not None and out.states.get(current) == "running":
                out.states[current] = "caught"  # left without exiting: a Catch moved on
            out.taken.add((previous, name))
            out.states[name] = "running"
            current, failing = name, False
        elif kind.endswith("StateExited"):
            name = (details.get("stateExitedEventDetails") or {}).get("name")
            if name not in names:
                continue
            # Exited after a failure: a Catch moved on (AWS records the exit with the error).
            out.states[name] = "caught" if failing else "succeeded"
            failing = False
            previous = name
            current = None if current == name else current
        elif kind == "ExecutionSucceeded" and previous in names:
            out.taken.add((previous, END))
    if current is not None and out.states.get(current) == "running":
        if execution_status in {"FAILED", "TIMED_OUT"}:
            out.states[current] = "failed"
        elif execution_status == "ABORTED":
            out.states[current] = "aborted"
        elif execution_status == "PENDING_REDRIVE":
            out.states[current] = "failed"
    if execution_status in {"FAILED", "TIMED_OUT"} and current is None and previous in names:
        # Failed after a state exited (e.g. a Fail state exits nothing): mark the last one.
        state = (definition.get("States") or {}).get(previous) or {}
        if state.get("Type") == "Fail":
            out.states[previous] = "failed"
    return out


def _layers(definition: dict[str, Any], edges: list[Edge]) -> list[list[str]]:
    states = list((definition.get("States") or {}).keys())
    graph: dict[str, list[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, []).append(edge.target)
    depth = {START: 0}
    queue = deque([START])
    while queue:
        node = queue.popleft()
        for nxt in graph.get(node, []):
            if nxt != END and nxt not in depth:
                depth[nxt] = depth[node] + 1
                queue.append(nxt)
    # States not reachable from StartAt still get drawn, below the rest.
    bottom = max(depth.values(), default=0)
    for name in states:
        if name not in depth:
            bottom += 1
            depth[name] = bottom
    depth[END] = max(depth.values()) + 1
    layers: list[list[str]] = [[] for _ in range(depth[END] + 1)]
    for node in [START, *states, END]:
        layers[depth[node]].append(node)
    return layers


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def draw(definition: dict[str, Any] | str, outcome: Outcome | None = None) -> Safe:
    """Inline SVG of the definition, coloured by ``outcome`` when given."""
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except ValueError:
            return html('<p class="notice error">{}</p>', "The definition is not valid JSON.")
    if not isinstance(definition, dict):
        return html('<p class="notice error">{}</p>', "The definition is not a JSON object.")
    outcome = outcome or Outcome()
    states = definition.get("States") or {}
    edges = edges_of(definition)
    layers = _layers(definition, edges)
    widest = max(len(layer) for layer in layers)
    width = MARGIN * 2 + widest * NODE_W + (widest - 1) * GAP_X + 60
    height = MARGIN * 2 + len(layers) * NODE_H + (len(layers) - 1) * GAP_Y
    pos: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(layers):
        span = len(layer) * NODE_W + (len(layer) - 1) * GAP_X
        left = (width - 60 - span) / 2
        for col, node in enumerate(layer):
            pos[node] = (
                left + col * (NODE_W + GAP_X) + NODE_W / 2,
                MARGIN + row * (NODE_H + GAP_Y) + NODE_H / 2,
            )
    lines = []
    for edge in edges:
        (sx, sy), (tx, ty) = pos[edge.source], pos[edge.target]
        classes = ["edge", edge.kind]
        if (edge.source, edge.target) in outcome.taken:
            classes.append("taken")
        if ty > sy:
            d = f"M{sx:.1f},{sy + NODE_H / 2:.1f} L{tx:.1f},{ty - NODE_H / 2 - 4:.1f}"
        else:  # back edge or same layer: around the right side
            out = max(sx, tx) + NODE_W / 2 + 30
            d = (
                f"M{sx + NODE_W / 2:.1f},{sy:.1f} C{out:.1f},{sy:.1f} {out:.1f},{ty:.1f} "
                f"{tx + NODE_W / 2 + 4:.1f},{ty:.1f}"
            )
        lines.append(
            html('<path class="{}" d="{}" marker-end="url(#arrow)"/>', " ".join(classes), d)
        )
    nodes = []
    for node, (x, y) in pos.items():
        if node in (START, END):
            status = "succeeded" if any(node in pair for pair in outcome.taken) else "not-run"
            nodes.append(
                html(
                    '<g class="node terminal {}"><circle cx="{:.1f}" cy="{:.1f}" r="16"/>'
                    '<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text></g>',
                    status,
                    x,
                    y,
                    x,
                    y + 4,
                    "Start" if node == START else "End",
                )
            )
            continue
        state = states.get(node) if isinstance(states.get(node), dict) else {}
        status = outcome.states.get(node, "not-run")
        nodes.append(
            html(
                '<g class="node {}" data-state="{}"><title>{} ({}): {}</title>'
                '<rect x="{:.1f}" y="{:.1f}" width="{}" height="{}" rx="6"/>'
                '<text class="name" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>'
                '<text class="type" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text></g>',
                status,
                node,
                node,
                state.get("Type", "?"),
                status,
                x - NODE_W / 2,
                y - NODE_H / 2,
                NODE_W,
                NODE_H,
                x,
                y - 3,
                _short(node),
                x,
                y + 13,
                state.get("Type", "?"),
            )
        )
    return html(
        '<svg class="graph" width="{:.0f}" height="{:.0f}" viewBox="0 0 {:.0f} {:.0f}" '
        'role="img" aria-label="state machine graph">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z"/></marker></defs>{}{}</svg>',
        width,
        height,
        width,
        height,
        join(lines),
        join(nodes),
    )
