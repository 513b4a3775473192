"""What every benchmark script prints and needs: hardware, load, versions, a local server.

The scripts run as ``python benchmarks/<name>.py``, so Python puts this folder first on
``sys.path`` and they import this module as plain ``_common``.
"""

from __future__ import annotations

import importlib
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform's guess where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cores() -> int:
    """The cores this process may run on (fewer than the machine's under taskset or a cgroup)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def hardware() -> str:
    memory = memory_gib()
    ram = f", {memory} GiB RAM" if memory is not None else ""
    return (
        f"{cpu_model()}, {cores()} cores available{ram}, {platform.system()} {platform.release()}"
    )


def load() -> str:
    """The 1/5/15-minute load averages, e.g. ``0.52 / 0.61 / 0.70`` (the machine is shared)."""
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def versions(*modules: str) -> str:
    """``python 3.11.9, numpy 2.1.0, ...`` for the named importable modules."""
    parts = [f"python {platform.python_version()}"]
    for name in modules:
        try:
            version = getattr(importlib.import_module(name), "__version__", "?")
        except ImportError:
            version = "absent"
        parts.append(f"{name} {version}")
    return ", ".join(parts)


def print_environment(*modules: str, extra: str = "") -> None:
    """The hardware, versions and load lines every benchmark's output starts with."""
    print(f"hardware: {hardware()}")
    print(f"versions: {versions(*modules)}{', ' + extra if extra else ''}")
    print(f"load:     {load()} (1/5/15-min load average; the machine is shared)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_command(model_dir: str | os.PathLike[str], port: int, *extra: str) -> list[str]:
    """``visiongate serve`` as a user runs it, with this interpreter."""
    command = [sys.executable, "-m", "visiongate.cli.main", "serve", "--model", str(model_dir)]
    return [*command, "--port", str(port), *extra]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Wait until the model server at ``url`` answers ``GET /ping`` with 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors = process.stderr.read() if process.stderr else ""
            raise SystemExit(f"the server exited with {process.returncode}: {errors}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not become ready")
