"""Model-server throughput: 16 concurrent connections POSTing the CIFAR PNGs on 127.0.0.1.

    .venv/bin/python benchmarks/serving_throughput.py [--model DIR] [--duration 10]

Measured in one run, each for ``--duration`` seconds after a warm-up:

1. in-process limit: PNG decode (visiongate.imaging) + batched onnxruntime in one process,
   no HTTP — sequential, and pipelined (decode the next batch while a second thread runs
   the model); the higher of the two is "the limit";
2. client-only ceiling: wrk against a server that answers a constant (our HTTP layer);
3. naive baseline: FastAPI + uvicorn, one PyTorch forward pass per request, no batching;
4. ``visiongate serve`` (dynamic batching), the product, started through the CLI.

Targets (issue 6): (4) >= 3x (3) and >= 50% of (1). The load generator is Debian's ``wrk``
(C, one thread) with benchmarks/wrk_post_images.lua; client and server share both cores
unless ``--pin-client`` runs wrk on CPU 0 only. The model is a trained model directory when
one is found (``--model``, models/*, .visiongate/models/*), otherwise the project's network
(visiongate.model.network) with random weights exported to ONNX exactly as training does —
the same architecture and cost, which is all throughput depends on. The naive baseline
runs that same network in PyTorch (random weights: the same FLOPs, not the same answers).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import free_port, load, print_environment, serve_command, wait_ready

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VISIONGATE_SHARED", REPO.parent / "shared"))
IMAGES = SHARED / "datasets" / "cifar100-bikes" / "train"
LUA = Path(__file__).with_name("wrk_post_images.lua")


# -- helpers -------------------------------------------------------------------------------


def wrk_version() -> str:
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (wrk.stdout + wrk.stderr).split("\n")[0].split(" Copyright")[0].strip()


def build_model(out: Path) -> tuple[Path, str]:
    """The project's network, random weights, exported like a trained model."""
    import torch

    from visiongate.imaging import Preprocessing
    from visiongate.model.export import Exported, export_onnx
    from visiongate.model.network import Architecture, Net

    torch.manual_seed(0)
    arch = Architecture()
    export_onnx(Exported(Net(arch).eval(), 1.5), out / "model.onnx", torch.randn(4, 3, 32, 32))
    meta = {
        "format_version": 1,
        "name": "random-weights",
        "classes": ["bicycle", "motorcycle"],
        "input": Preprocessing().to_json(),
        "outputs": {"probabilities": "probabilities", "embedding": "embedding"},
        "temperature": 1.5,
        "architecture": {**arch.to_json(), "flip_tta": True},
    }
    (out / "model.json").write_text(json.dumps(meta))
    return out, f"{arch.name} {arch.widths} with flip TTA, random weights (no trained model found)"


def pick_model(arg: str | None, scratch: Path) -> tuple[Path, str]:
    if arg:
        return Path(arg), "given with --model"
    found = sorted(
        [*REPO.glob("models/*/model.onnx"), *REPO.glob(".visiongate/models/*/model.onnx")]
    )
    if found:
        return found[0].parent, "trained model found in the repository"
    return build_model(scratch)


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_wrk(url: str, image_list: Path, seconds: float, connections: int, pin: bool) -> dict:
    def command(duration: str) -> list[str]:
        cmd = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration}",
            "-s",
            str(LUA),
            url,
            "--",
            str(image_list),
        ]
        return ["taskset", "-c", "0", *cmd] if pin else cmd

    subprocess.run(command("2s"), capture_output=True, check=True)  # warm-up
    before = load()
    out = subprocess.run(command(f"{seconds:g}s"), capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK_JSON "))
    stats = json.loads(line[len("WRK_JSON ") :])
    stats["rps"] = (stats["requests"] - stats["non_2xx"]) / (stats["duration_us"] / 1e6)  # 2xx only
    stats["load"] = f"{before} -> {load()}"
    return stats


def serve_process(args: list[str], port: int, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_ready(f"http://127.0.0.1:{port}", proc)
    return proc


# -- the servers this script starts as its own subprocesses --------------------------------


def role_constant(port: int) -> None:
    """Our HTTP layer answering a constant: what the client and HTTP can do at most."""
    import asyncio

    from visiongate.serving.http import ConnectionPool, HttpLimits, HttpProtocol, Response

    async def handler(request):
        return Response(200, b"[0.5, 0.5]")

    async def serve_forever():
        loop = asyncio.get_running_loop()
        pool = ConnectionPool(HttpLimits())
        server = await loop.create_server(
            lambda: HttpProtocol(handler, pool), "127.0.0.1", port, backlog=1024
        )
        stopped = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopped.set)
        async with server:
            await stopped.wait()

    asyncio.run(serve_forever())


def role_naive(port: int, model_dir: Path, threads: int | None) -> None:
    """FastAPI + one PyTorch forward pass per request: the usual first server."""
    import torch
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from visiongate.imaging import Preprocessing, preprocess
    from visiongate.model.export import Exported
    from visiongate.model.network import Architecture, Net

    meta = json.loads((model_dir / "model.json").read_text())
    arch_doc = dict(meta.get("architecture") or {})
    flip = bool(arch_doc.pop("flip_tta", True))
    known = Architecture.__dataclass_fields__
    arch = Architecture(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in arch_doc.items() if k in known}
    )
    net = Exported(Net(arch), float(meta.get("temperature", 1.0)), flip).eval()
    if threads:
        torch.set_num_threads(threads)
    prep = Preprocessing.from_json(meta["input"])
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict:
        return {"status": "Healthy"}

    @app.post("/invocations")
    async def invocations(request: Request) -> JSONResponse:
        x = torch.from_numpy(preprocess(await request.body(), prep)[None])
        with torch.inference_mode():
            probs = net(x)[0][0]
        return JSONResponse(probs.tolist())

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- measurements ---------------------------------------------------------------------------


def in_process_rate(
    model_dir: Path, files: list[Path], batch: int, seconds: float, pipelined: bool
) -> float:
    """Decode + batched onnxruntime in this process, no HTTP: images per second.

    Sequential: decode a batch, run it, repeat. Pipelined: decode the next batch while a
    second thread runs onnxruntime on this one — the most one process can do.
    """
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from visiongate.imaging import preprocess
    from visiongate.serving.model import load_model_dir

    model = load_model_dir(model_dir)
    blobs = [f.read_bytes() for f in files]
    model.warm_up(batch)
    done, started = 0, time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        running = None
        while time.perf_counter() - started < seconds:
            for i in range(0, len(blobs), batch):
                x = np.stack([preprocess(b, model.prep) for b in blobs[i : i + batch]])
                if not pipelined:
                    model.predict(x)
                else:
                    if running is not None:
                        running.result()
                    running = pool.submit(model.predict, x)
                done += len(x)
        if running is not None:
            running.result()
    return done / (time.perf_counter() - started)


def report(results: dict[str, dict], limit: float) -> None:
    print()
    print(
        f"{'':28s} {'img/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s}  load average during"
    )
    for name, r in results.items():
        if "p50_us" in r:
            errors = r["non_2xx"] + r["socket_errors"]
            print(
                f"{name:28s} {r['rps']:8,.0f} {r['p50_us'] / 1000:8.1f} "
                f"{r['p99_us'] / 1000:8.1f} {errors:7d}  {r['load']}"
            )
        else:
            print(f"{name:28s} {r['rps']:8,.0f} {'':8s} {'':8s} {'':7s}  {r['load']}")
    ours = results["visiongate serve"]
    print(f"\nmean batch size under load: {ours['mean_batch']:.1f}")
    if "naive FastAPI + PyTorch" in results:
        ratio = ours["rps"] / results["naive FastAPI + PyTorch"]["rps"]
        print(f"vs naive:            {ratio:.2f}x   (target >= 3x)")
    print(f"vs in-process limit: {ours['rps'] / limit:.0%}   (target >= 50%)")
    ceiling = results["client-only ceiling"]["rps"]
    print(
        f"vs client ceiling:   {ours['rps'] / ceiling:.0%}   (low = the client is not the bottleneck)"
    )
    rounded = {
        k: {kk: round(vv, 1) if isinstance(vv, float) else vv for kk, vv in v.items()}
        for k, v in results.items()
    }
    print("SUMMARY " + json.dumps(rounded))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pin-client", action="store_true", help="run wrk on CPU 0 only")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--serve-args", default="", help="extra arguments for visiongate serve")
    parser.add_argument("--role", choices=["constant", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "constant":
        return role_constant(args.port)
    if args.role == "naive":
        return role_naive(args.port, Path(args.model), args.threads)

    if not shutil.which("wrk"):
        raise SystemExit("needs Debian's wrk: apt-get install -y wrk")
    files = sorted(IMAGES.glob("*.png"))
    if not files:
        raise SystemExit(f"no PNGs under {IMAGES}")
    scratch = Path(tempfile.mkdtemp(prefix="vg-bench-"))
    image_list = scratch / "images.txt"
    image_list.write_text("\n".join(str(f) for f in files) + "\n")
    model_dir, model_note = pick_model(args.model, scratch)
    py, me = sys.executable, str(Path(__file__).resolve())
    sharing = (
        "wrk pinned to CPU 0, servers unpinned"
        if args.pin_client
        else "client and server share both cores"
    )

    print_environment(
        "onnxruntime", "numpy", "PIL", "torch", "fastapi", "uvicorn", extra=wrk_version()
    )
    print(f"model:    {model_dir} ({model_note})")
    print(
        f"client:   wrk -t1 -c{args.connections}, {len(files)} CIFAR PNGs, {args.duration:g} s; {sharing}"
    )
    results: dict[str, dict] = {}

    for pipelined in (False, True):
        before = load()
        rate = in_process_rate(model_dir, files, 16, args.duration / 2, pipelined)
        name = "in-process, pipelined" if pipelined else "in-process, sequential"
        results[name] = {"rps": rate, "load": f"{before} -> {load()}"}
        print(f"{name} (decode + batched onnxruntime, batch 16): {rate:,.0f} images/s")
    limit = max(results["in-process, pipelined"]["rps"], results["in-process, sequential"]["rps"])

    def measure(name: str, cmd: list[str], port: int, env: dict | None = None) -> None:
        proc = serve_process(cmd, port, env)
        try:
            url = f"http://127.0.0.1:{port}"
            results[name] = run_wrk(
                url, image_list, args.duration, args.connections, args.pin_client
            )
            if name == "visiongate serve":
                with urllib.request.urlopen(url + "/metrics") as resp:
                    text = resp.read().decode().splitlines()
                total = float(next(x.split()[-1] for x in text if x.startswith("BatchSize_sum")))
                count = float(next(x.split()[-1] for x in text if x.startswith("BatchSize_count")))
                results[name]["mean_batch"] = total / max(count, 1.0)
        finally:
            stop(proc)

    port = free_port()
    measure("client-only ceiling", [py, me, "--role", "constant", "--port", str(port)], port)
    if not args.skip_naive:
        # PyTorch's default threads, and one thread (which often wins for batch 1 on a busy
        # machine); the faster of the two is the baseline, so the ratio is conservative.
        for label, extra in (("default threads", []), ("1 thread", ["--threads", "1"])):
            port = free_port()
            naive = [
                py,
                me,
                "--role",
                "naive",
                "--port",
                str(port),
                "--model",
                str(model_dir),
                *extra,
            ]
            measure(f"naive, torch {label}", naive, port)
        best = max((r for k, r in results.items() if k.startswith("naive")), key=lambda r: r["rps"])
        results["naive FastAPI + PyTorch"] = {"rps": best["rps"], "load": "(the faster naive run)"}
    port = free_port()
    measure(
        "visiongate serve",
        serve_command(model_dir, port, *args.serve_args.split()),
        port,
        {"VISIONGATE_HOME": str(scratch / "home")},
    )

    report(results, limit)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
