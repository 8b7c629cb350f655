"""Time to expand and validate big sweeps: 100, 1,000 and 10,000-point grids.

What is measured
    A grid of ``train.learning_rate`` x ``train.batch_size`` on circles (10 x 10, 40 x 25 and
    100 x 100 points, repeats 1), in a fresh subprocess per code base, timed inside it:

    expand     ``load_config`` + ``sweep.expand``: the schema, every point's resolved config
               and its run id (what ``--dry-run`` does before it prints)
    validate   the ``nnlab validate`` path (``commands.prepare(..., load_data=False)``): the same,
               then the Keras objects each run names (optimizer, initializer, builder). The
               backend is started once before the clock starts and reported on its own
               (``backend``): importing TensorFlow takes seconds whatever the sweep.

    Each number is the best of ``--repeat K`` (default 1) measurements. Per point is the
    number divided by the points.

    With ``--old SRC`` the same is measured on another checkout's ``src`` folder (e.g. one
    made with ``git worktree add /tmp/nnlab-old <commit>``: ``--old /tmp/nnlab-old/src``) and
    the ratio old / new is printed per size. The old validate path built one optimizer per
    run (about 5-10 ms each): at 10,000 points it takes minutes; ``--old-max N`` skips the
    old code's sizes above N.

    ``--cli`` also times the whole ``nnlab validate CONFIG`` command from outside (process
    start and backend import included), as a user sees it.

How to read it
    Compare per-point times and ratios from one invocation; absolute seconds depend on the
    machine and on whatever else runs on it. Nothing is written into the repository: the
    configs go to a temporary directory that is removed at the end.

Usage: .venv/bin/python benchmarks/expand.py [--sizes 100,1000,10000] [--repeat K]
                                             [--old SRC] [--old-max N] [--cli]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRIDS = {100: (10, 10), 1000: (40, 25), 10000: (100, 100)}

CONFIG = """\
name: bench-expand-{n}
data: {{name: circles, n_samples: 200, noise: 0.1}}
model: {{hidden: [8]}}
train: {{epochs: 3}}
sweep:
  train.learning_rate: {lrs}
  train.batch_size: {sizes}
"""


def grid(n: int) -> tuple[int, int]:
    if n in GRIDS:
        return GRIDS[n]
    a = max(1, round(n**0.5))
    return a, max(1, n // a)


def write_configs(folder: Path, sizes: list[int]) -> dict[int, Path]:
    paths = {}
    for n in sizes:
        a, b = grid(n)
        lrs = [round(1e-4 * (i + 1), 6) for i in range(a)]
        path = folder / f"grid{n}.yaml"
        path.write_text(CONFIG.format(n=n, lrs=lrs, sizes=list(range(1, b + 1))))
        paths[n] = path
    return paths


# ---------------------------------------------------------------------------------------------
# inside the measured process


def worker(paths: dict[int, Path], repeat: int) -> dict[str, object]:
    """Times in the code base on ``sys.path``; prints nothing but the result."""
    import contextlib
    import io

    import nnlab
    from nnlab import commands
    from nnlab.config import load_config
    from nnlab.expansion import expand

    out: dict[str, object] = {"sizes": {}, "code": str(Path(nnlab.__file__).parent)}
    first = next(iter(paths.values()))
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        from nnlab import backend

        cfg, _ = load_config(first)
        backend.activate(cfg.backend, "cpu")
        try:  # the Keras import, once
            from nnlab import keras_objects

            keras_objects.preflight(expand(cfg)[0].config)
        except ImportError:
            pass
    out["backend_s"] = time.perf_counter() - start
    for n, path in paths.items():
        best: dict[str, float] = {}
        for _ in range(repeat):
            t0 = time.perf_counter()
            cfg, _ = load_config(path)
            specs = expand(cfg)
            t1 = time.perf_counter()
            _, _, checked, _ = commands.prepare(path, None, {}, load_data=False)
            t2 = time.perf_counter()
            assert len(specs) == len(checked) == n, (len(specs), n)
            for key, value in (("expand_s", t1 - t0), ("validate_s", t2 - t1)):
                best[key] = min(best.get(key, value), value)
        out["sizes"][str(n)] = best  # type: ignore[index]
    return out


# ---------------------------------------------------------------------------------------------
# the driver


def measure(src: Path, paths: dict[int, Path], repeat: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(src), "CUDA_VISIBLE_DEVICES": "-1"}
    arg = json.dumps({str(n): str(p) for n, p in paths.items()})
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", arg, "--repeat", str(repeat)],
        capture_output=True, text=True, env=env, cwd=str(src.parent),
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"measuring {src} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cli_wall(path: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nnlab", "validate", str(path)], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "CUDA_VISIBLE_DEVICES": "-1"},
    )  # fmt: skip
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"nnlab validate {path} failed:\n{proc.stderr[-3000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="points per grid")
    parser.add_argument("--repeat", type=int, default=1, help="best of K measurements")
    parser.add_argument("--old", type=Path, help="another checkout's src folder, to compare")
    parser.add_argument("--old-max", type=int, default=None, help="old code: sizes up to N")
    parser.add_argument("--cli", action="store_true", help="also time `nnlab validate`")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        paths = {int(n): Path(p) for n, p in json.loads(args.worker).items()}
        print(json.dumps(worker(paths, args.repeat)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-expand-") as tmp:
        paths = write_configs(Path(tmp), sizes)
        new = measure(ROOT / "src", paths, args.repeat)
        old = None
        if args.old:
            kept = {n: p for n, p in paths.items() if args.old_max is None or n <= args.old_max}
            old = measure(args.old.resolve(), kept, args.repeat)
        walls = {n: cli_wall(p) for n, p in paths.items()} if args.cli else {}
    report(sizes, new, old, walls)


def report(sizes: list[int], new: dict, old: dict | None, walls: dict[int, float]) -> None:
    print(f"new: {new['code']}" + (f"; old: {old['code']}" if old else ""))
    print(f"backend start (once, not in the numbers below): new {new['backend_s']:.2f} s"
          + (f", old {old['backend_s']:.2f} s" if old else ""))  # fmt: skip
    head = f"{'points':>7} {'what':>9} {'new s':>8} {'new us/pt':>10}"
    if old:
        head += f" {'old s':>8} {'old us/pt':>10} {'old/new':>8}"
    print(head)
    for n in sizes:
        for key, label in (("expand_s", "expand"), ("validate_s", "validate")):
            t = new["sizes"][str(n)][key]
            line = f"{n:>7} {label:>9} {t:8.3f} {t / n * 1e6:10.1f}"
            if old:
                was = old["sizes"].get(str(n), {}).get(key)
                line += (f" {was:8.3f} {was / n * 1e6:10.1f} {was / t:8.1f}" if was is not None
                         else f" {'-':>8} {'-':>10} {'-':>8}")  # fmt: skip
            print(line)
        if n in walls:
            print(f"{n:>7} {'command':>9} {walls[n]:8.2f}  (nnlab validate, process and "
                  "backend start included)")  # fmt: skip


if __name__ == "__main__":
    main()
