"""The machine: how many threads to give PyTorch, and seeded, deterministic settings.

The machine is often shared. Each training step runs hundreds of small parallel regions;
if a core is busy with another process, every region waits for the descheduled thread.
So training uses only the cores other processes leave idle, measured when it starts.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator

import torch


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def busy_cores(interval: float = 0.3) -> float:
    """How many cores other processes keep busy right now (we are idle while measuring).

    Read from /proc/stat over ``interval`` seconds; the load average is no good here since it
    trails by a minute and counts our own recent work. Elsewhere, fall back to it.
    """

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields) - idle, sum(fields)

    try:
        busy_before, total_before = sample()
        time.sleep(interval)
        busy_after, total_after = sample()
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except OSError:  # pragma: no cover - no load average on this platform
            return 0.0
    elapsed = max(1, total_after - total_before)
    return available_cores() * (busy_after - busy_before) / elapsed


def pick_threads(requested: int = 0) -> int:
    """Threads for PyTorch: ``requested``, or the cores other processes leave idle.

    Each training step runs hundreds of small parallel regions; when a core is busy with
    another process, every region waits for the descheduled thread, and two threads end up
    several times *slower* than one (measured here: 15× at a load of 8). So we only use
    cores that are free when training starts.
    """
    cores = available_cores()
    if requested > 0:
        return min(requested, cores)
    return max(1, min(cores, math.floor(cores - busy_cores() + 0.5)))


@contextlib.contextmanager
def torch_settings(seed: int, threads: int) -> Iterator[None]:
    """Seeded, deterministic, ``threads`` threads; restores the caller's settings afterwards."""
    previous, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
        torch.use_deterministic_algorithms(deterministic)
