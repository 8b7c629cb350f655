"""The Ray launcher against local workers, and how many runs per second its driver records.

What is measured
    1. Overhead. The 8-run sweep of ``workers.py`` (circles, 1000 points, MLP [16, 16],
       20 epochs, batch_size [32, 128] x learning_rate [0.01, 0.001] x 2 seeds), each variant
       a fresh ``nnlab run`` subprocess timed from outside, interleaved ``--repeat K`` times
       (default 3), medians reported:

       local    ``--workers 2`` (two worker processes on this machine)
       ray      ``--launcher ray --workers 2``: nnlab starts a local Ray instance, two actors,
                and stops it at the end (what a user without a cluster pays)
       attached ``--launcher ray --workers 2 --ray-address ADDR``: a Ray instance on this
                machine that the benchmark started once (what a cluster user pays per command)
       plain    the hand-written Keras loop of ``workers.py``, no nnlab

       Every nnlab variant trains run by run (``--no-fused``), so each run is a unit handed
       to a worker. The ratios ray/local and attached/local are the launcher's overhead
       (target <= 1.15); */plain put them against plain Keras measured in the same invocation.
       The script checks that every variant gave the same run ids, all completed, and the same
       final val_accuracy per run (exit 1 if not).

    2. The driver's ceiling. One real 20-epoch run is trained in this process through the
       actor's event path (``train_unit`` into a scratch folder, each event with what it
       changed there); then the driver's handling of those messages is replayed for N runs
       into a fresh experiment folder (``begin_run``, the streamed history rows, env.json and
       result.json written atomically, the summary.csv row appended): runs recorded per second
       by the driver alone, which is what bounds a cluster whose nodes train fast enough.

Usage: .venv/bin/python benchmarks/ray_launcher.py [--repeat K] [--quick] [--driver-runs N]
                                          [--no-overhead]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workers  # the 8-run sweep and the plain Keras loop (this folder)

LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def nnlab_variant(config: Path, out: Path, *extra: str) -> dict[str, Any]:
    cmd = [str(workers.NNLAB), "run", str(config), "--workers", "2", "--no-fused", "--quiet",
           "--out", str(out), *extra]  # fmt: skip
    elapsed, _ = workers.timed(cmd, out)
    return {"wall": elapsed, **read_experiment(out)}


def read_experiment(out: Path) -> dict[str, Any]:
    import csv

    with open(out / "bench-workers" / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        "runs": sorted((r["run_id"], r["status"]) for r in rows),
        "final": {r["run_id"]: float(r["final_val_accuracy"]) for r in rows},
    }


def overhead(args: argparse.Namespace) -> int:
    from ray.cluster_utils import Cluster

    os.environ.update(LOOPBACK)
    args.repeats_per_point = 1 if args.quick else workers.REPEATS
    epochs = 2 if args.quick else 20
    print(f"overhead: the workers.py sweep, {epochs} epochs, "
          f"{4 * args.repeats_per_point} runs, --repeat {args.repeat}", flush=True)  # fmt: skip
    names = ("local", "ray", "attached", "plain")
    samples: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": os.cpu_count() or 1, "node_ip_address": "127.0.0.1"})  # fmt: skip
    try:
        with tempfile.TemporaryDirectory(prefix="nnlab-bench-ray-") as tmp:
            config = Path(tmp) / "bench.yaml"
            config.write_text(workers.CONFIG.format(
                seed=workers.SEED, repeats=args.repeats_per_point, n_samples=1000,
                hidden=workers.HIDDEN, epochs=epochs, batch_sizes=workers.BATCH_SIZES,
                learning_rates=workers.LEARNING_RATES))  # fmt: skip
            plain_args = argparse.Namespace(repeats_per_point=args.repeats_per_point,
                                            n_samples=1000, epochs=epochs)  # fmt: skip
            for k in range(args.repeat):
                for name in names:
                    out = Path(tmp) / f"{name}-{k}"
                    out.mkdir()
                    if name == "plain":
                        m = workers.run_plain(plain_args, out)
                    else:
                        extra = {"local": (), "ray": ("--launcher", "ray"),
                                 "attached": ("--launcher", "ray", "--ray-address",
                                              cluster.address)}[name]  # fmt: skip
                        m = nnlab_variant(config, out, *extra)
                    samples[name].append(m)
                    print(f"  [{k + 1}/{args.repeat}] {name:8s} {m['wall']:7.1f} s", flush=True)
    finally:
        cluster.shutdown()

    med = {n: statistics.median(m["wall"] for m in samples[n]) for n in names}
    print(f"\n{'variant':10s} {'wall s':>8s}  (median of {args.repeat})")
    for n in names:
        print(f"{n:10s} {med[n]:8.1f}")
    print()
    for a, b in (("ray", "local"), ("attached", "local"), ("local", "plain"),
                 ("ray", "plain"), ("attached", "plain")):  # fmt: skip
        each = ", ".join(f"{x['wall'] / y['wall']:.2f}" for x, y in zip(samples[a], samples[b],
                                                                      strict=True))  # fmt: skip
        flag = ""
        if b == "local":
            flag = "  PASS (<= 1.15)" if med[a] / med[b] <= 1.15 else "  FAIL (> 1.15)"
        print(f"{a + ' / ' + b:20s} {med[a] / med[b]:5.2f}   (each repeat: {each}){flag}")

    nnlab_samples = [m for n in ("local", "ray", "attached") for m in samples[n]]
    same_runs = len({tuple(m["runs"]) for m in nnlab_samples}) == 1
    completed = all(s == "completed" for m in nnlab_samples for _, s in m["runs"])
    reference = nnlab_samples[0]["final"]
    diff = max(abs(m["final"][r] - v) for m in nnlab_samples for r, v in reference.items())
    print(f"\nsame run ids in every variant: {same_runs}; all completed: {completed}; "
          f"largest difference in final val_accuracy between variants: {diff:.4f}")  # fmt: skip
    return 0 if same_runs and completed and diff < 1e-3 else 1


def driver_ceiling(n_runs: int) -> None:
    """Replay one real run's messages through the driver's handling, ``n_runs`` times."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from nnlab import backend, events, summary
    from nnlab.config import validate
    from nnlab.expansion import expand
    from nnlab.launchers import Unit, train_unit
    from nnlab.launchers._mirror import Watch
    from nnlab.launchers._ray import _Session, _Slot
    from nnlab.launchers._ray_worker import Message

    backend.activate("jax", "cpu")
    cfg = validate({"name": "ceiling", "data": {"name": "circles", "n_samples": 200},
                    "model": {"kind": "mlp", "hidden": [8]},
                    "train": {"epochs": 20, "batch_size": 32}})  # fmt: skip
    spec = expand(cfg)[0]
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-driver-") as tmp:
        scratch, exp = Path(tmp) / "scratch", Path(tmp) / "exp"
        scratch.mkdir()
        watch, messages = Watch(scratch), []

        def emit(event: Any) -> None:
            rid = getattr(event, "run_id", None)
            messages.append(Message(event, watch.changes(rid) if rid else [], {}))

        train_unit(Unit((spec,)), scratch, emit, None)
        size = sum(len(c.data) for m in messages for c in m.changes)
        print(f"\ndriver: one run = {len(messages)} messages, {size / 1024:.1f} KiB of files "
              f"(20 epochs, circles, MLP [8])")  # fmt: skip

        specs = [replace(spec, run_id=f"run{i:05d}") for i in range(n_runs)]
        exp.mkdir()
        book = summary.SummaryFile(exp, specs)
        book.rewrite({})

        def listen(event: Any) -> None:
            if isinstance(event, events.RunFinished):
                book.append(event.run_id, event.result)

        session = object.__new__(_Session)  # the driver's state, without a cluster
        session.exp_dir, session.on_event, session.results = exp, listen, {}
        session.spec_of = {s.run_id: s for s in specs}
        slot = _Slot(0, None)
        t0 = time.perf_counter()
        for s in specs:
            for message in as_run(messages, s.run_id):
                session._handle(slot, message)
        alone = n_runs / (time.perf_counter() - t0)
        through = through_ray(messages, specs, Path(tmp) / "exp-ray")
    need = 1000 / 60
    for name, rate in (("driver alone (in-process replay)", alone),
                       ("driver through Ray (2 replaying actors)", through)):  # fmt: skip
        print(
            f"{name}: {rate:.0f} runs/s ({1000 / rate:.1f} ms per run); 1,000 runs a "
            f"minute needs {need:.1f} runs/s: "
            f"{'keeps up' if rate >= need else 'does NOT keep up'} ({rate / need:.1f}x)"
        )


def as_run(messages: list[Any], run_id: str) -> Any:
    """The recorded ``messages`` of one run, as those of the run ``run_id``."""
    for m in messages:
        event = replace(m.event, run_id=run_id) if hasattr(m.event, "run_id") else m.event
        yield replace(m, event=event)


def through_ray(messages: list[Any], specs: list[Any], exp: Path) -> float:
    """The driver's real loop (``_Session.run``: ray.wait, ray.get, the files, the summary)
    fed by two actors that replay the recorded messages at once: runs recorded per second."""
    from collections import deque

    import ray

    from nnlab import summary
    from nnlab.launchers import RayLauncher, Unit
    from nnlab.launchers._ray import _Session, _Slot
    from nnlab.launchers._ray_worker import Begun

    class Replay:
        def __init__(self, recorded: list[Any]) -> None:
            self.recorded = recorded

        def train(self, unit: Any, run_end: Any, shipped: Any) -> Any:
            yield Begun({})
            for spec in unit.specs:
                yield from as_run(self.recorded, spec.run_id)

    exp.mkdir()
    book = summary.SummaryFile(exp, specs)
    book.rewrite({})
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        actor = ray.remote(num_cpus=1)(Replay)
        session = object.__new__(_Session)
        session.ray, session.launcher, session.exp_dir = ray, RayLauncher(), exp
        session.on_event = lambda e: book.append(e.run_id, e.result) if hasattr(
            e, "result") else None  # fmt: skip
        session.todo = deque(Unit((s,)) for s in specs)
        session.spec_of = {s.run_id: s for s in specs}
        session.attempts, session.results, session.busy = {}, {}, {}
        session.shipped = [None]
        session.slots = [_Slot(i, actor.remote(messages)) for i in range(2)]
        ray.get([s.actor.__ray_ready__.remote() for s in session.slots])  # started
        session.progress = time.monotonic()
        t0 = time.perf_counter()
        session.run()
        elapsed = time.perf_counter() - t0
        assert len(session.results) == len(specs)
    finally:
        ray.shutdown()
    return len(specs) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, metavar="K")
    parser.add_argument("--quick", action="store_true", help="2 epochs, 4 runs")
    parser.add_argument("--driver-runs", type=int, default=500, metavar="N")
    parser.add_argument("--no-overhead", action="store_true", help="only the driver's ceiling")
    args = parser.parse_args()
    status = 0 if args.no_overhead else overhead(args)
    driver_ceiling(args.driver_runs)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
