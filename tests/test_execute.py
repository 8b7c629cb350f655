"""The sweep engine end to end: run directories, summary.csv, resume after Ctrl-C or a kill,
parallel workers, and runs that fail or diverge without stopping the others."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnlab import store
from nnlab.cli import app

from helpers import TINY, merge

runner = CliRunner()

GRID = merge(
    TINY,
    {"name": "grid", "repeats": 2,
     "sweep": {"train.batch_size": [16, "full"], "train.learning_rate": [0.05, 0.005]}},
)  # fmt: skip


def write(tmp_path: Path, doc: dict, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def summary(exp_dir: Path) -> list[dict[str, str]]:
    with open(exp_dir / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def started(exp_dir: Path) -> dict[str, str]:
    """run id -> when its last attempt started (changes only when it trains again)."""
    return {
        d.name: (store.read_json(d / "result.json") or {}).get("started", "")
        for d in store.run_dirs(exp_dir)
    }


def nnlab(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nnlab", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """The 2 x 2 grid with repeats 2, run once with one worker."""
    tmp = tmp_path_factory.mktemp("grid")
    config = write(tmp, GRID)
    dry = runner.invoke(app, ["sweep", str(config), "--dry-run", "--out", str(tmp / "runs")])
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp / "runs"), "-q"])
    return tmp, config, dry, result


def test_grid_with_repeats_gives_eight_runs_and_a_summary(grid_run):
    tmp, _, dry, result = grid_run
    assert result.exit_code == 0, result.output
    exp = tmp / "runs" / "grid"
    runs = store.run_dirs(exp)
    assert len(runs) == 8
    rows = summary(exp)
    assert {r["run_id"] for r in rows} == {d.name for d in runs}
    assert [(r["train.batch_size"], r["train.learning_rate"], r["seed"]) for r in rows] == [
        ("16", "0.05", "0"), ("16", "0.05", "1"), ("16", "0.005", "0"), ("16", "0.005", "1"),
        ("full", "0.05", "0"), ("full", "0.05", "1"), ("full", "0.005", "0"),
        ("full", "0.005", "1"),
    ]  # fmt: skip
    assert {r["status"] for r in rows} == {"completed"}
    assert all(r["epochs_run"] == "3" for r in rows)
    for col in ("final_loss", "final_val_accuracy", "best_val_loss", "best_epoch", "wall_s"):
        assert all(float(r[col]) >= 0 for r in rows), col
    # --dry-run listed exactly these 8 ids, and trained nothing
    listed = [line.split()[0] for line in dry.output.splitlines() if "_seed=" in line]
    assert listed == [r["run_id"] for r in rows]
    assert "8 runs (8 to train, 0 already finished); dry run, nothing trained" in dry.output


def test_comparison_plots_are_drawn(grid_run):
    plots = sorted(p.name for p in (grid_run[0] / "runs" / "grid" / "plots").glob("*.png"))
    assert "curves_loss.png" in plots and "curves_accuracy.png" in plots
    assert any(name.startswith("heatmap_") for name in plots)


def test_rerun_trains_nothing_and_dry_run_says_so(grid_run):
    tmp, config, _, _ = grid_run
    before = started(tmp / "runs" / "grid")
    again = runner.invoke(app, ["run", str(config), "--out", str(tmp / "runs")])
    assert again.exit_code == 0
    assert "0 trained, 8 already finished" in again.output
    assert started(tmp / "runs" / "grid") == before
    dry = runner.invoke(app, ["run", str(config), "--out", str(tmp / "runs"), "--dry-run"])
    assert "8 runs (0 to train, 8 already finished)" in dry.output


@pytest.mark.slow
def test_two_workers_give_the_same_runs_as_one(grid_run, tmp_path):
    one = {(r["run_id"], r["status"]) for r in summary(grid_run[0] / "runs" / "grid")}
    proc = nnlab("run", grid_run[1], "--out", tmp_path, "--workers", "2", "-q")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-2000:]
    two = {(r["run_id"], r["status"]) for r in summary(tmp_path / "grid")}
    assert two == one and len(two) == 8
    pids = {
        json.loads((d / "env.json").read_text())["pid"] for d in store.run_dirs(tmp_path / "grid")
    }
    assert len(pids) == 2  # two worker processes shared the eight runs


def wait_for_progress(exp_dir: Path, n: int, timeout: float = 240, busy: int = 1) -> None:
    """Until ``n`` runs completed and ``busy`` others are mid-training (a few epochs
    written)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = {d: store.run_status(d) for d in store.run_dirs(exp_dir)}
        done = [d for d, s in status.items() if s == "completed"]
        in_progress = [
            d for d, s in status.items() if s == "running" and (d / "history.csv").is_file()
            and len((d / "history.csv").read_text().splitlines()) >= 4
        ]  # fmt: skip
        if len(done) >= n and len(in_progress) >= busy:
            return
        time.sleep(0.1)
    raise AssertionError(f"never saw {n} runs completed and {busy} in progress in {timeout}s")


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigint_mid_sweep_then_the_same_command_finishes_only_the_rest(tmp_path, workers):
    doc = merge(GRID, {"train": {"epochs": 12}})
    config = write(tmp_path, doc)
    exp = tmp_path / "grid"
    proc = nnlab("run", config, "--out", tmp_path, "--workers", workers, "-q")
    wait_for_progress(exp, 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert b"run the same command again to finish the rest" in err
    assert b"Traceback" not in err, err.decode()[-3000:]  # Ctrl-C is not a crash
    statuses = {r["run_id"]: r["status"] for r in summary(exp)}
    assert "interrupted" in statuses.values()  # the run in progress was recorded as such
    finished = {r for r, s in statuses.items() if s == "completed"}
    before = started(exp)
    again = runner.invoke(app, ["run", str(config), "--out", str(tmp_path), "-q"])
    assert again.exit_code == 0, again.output
    after = started(exp)
    retrained = {r for r in after if after[r] != before.get(r)}
    assert retrained == set(after) - finished  # exactly the runs that had not completed
    assert len(after) == 8
    assert {r["status"] for r in summary(exp)} == {"completed"}


@pytest.mark.slow
def test_sigkill_of_the_process_group_then_resume(tmp_path):
    doc = merge(GRID, {"train": {"epochs": 12}})
    config = write(tmp_path, doc)
    exp = tmp_path / "grid"
    proc = nnlab("run", config, "--out", tmp_path, "--workers", "2", "-q",
                 start_new_session=True)  # fmt: skip
    wait_for_progress(exp, 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    records = {d.name: store.run_status(d) for d in store.run_dirs(exp)}
    assert "running" in records.values()  # killed mid-run: the record says so
    listing = runner.invoke(app, ["ls", str(exp)])  # and `nnlab ls` shows it, as stale
    left = [r for r, s in records.items() if s == "running"]
    shown = [ln for ln in listing.output.splitlines() if any(r in ln for r in left)]
    assert len(shown) == len(left) and all(" stale " in ln for ln in shown), listing.output
    finished = {r for r, s in records.items() if s == "completed"}
    before = started(exp)
    again = runner.invoke(app, ["run", str(config), "--out", str(tmp_path), "-q"])
    assert again.exit_code == 0, again.output
    after = started(exp)
    assert {r for r in after if after[r] != before.get(r)} == set(after) - finished
    assert {r["status"] for r in summary(exp)} == {"completed"} and len(after) == 8


def worker_pids(parent: int) -> list[int]:
    """The spawned worker processes of ``parent`` (not its resource tracker), from /proc."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        fields = proc_stat(proc)
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue  # it ended while we looked
        if fields and int(fields[1]) == parent and b"spawn_main" in cmdline:
            pids.append(int(proc.name))
    return pids


def proc_stat(proc: Path) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), None if gone."""
    try:
        return (proc / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def gone(pid: int) -> bool:
    fields = proc_stat(Path(f"/proc/{pid}"))
    return fields is None or fields[0] in ("Z", "X")  # a zombie not yet reaped has ended


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_kill_9_of_the_command_alone_stops_its_workers_and_the_same_command_finishes(tmp_path):
    """kill -9 of the main process only, as `kill -9 PID` or the out-of-memory killer does
    it: its workers must not train on with nobody recording them while the lock is free for
    the next command. They notice, record their runs as interrupted, and leave."""
    doc = merge(TINY, {"name": "pair", "train": {"epochs": 100},
                       "sweep": {"train.learning_rate": [0.05, 0.005]}})  # fmt: skip
    config = write(tmp_path, doc)
    exp = tmp_path / "pair"
    proc = nnlab("run", config, "--out", tmp_path, "--workers", "2", "-q")
    wait_for_progress(exp, 0, busy=2)  # both runs mid-training
    workers = worker_pids(proc.pid)
    assert len(workers) == 2
    proc.kill()
    proc.wait(timeout=60)  # not communicate(): a worker left behind holds the pipes open
    deadline = time.time() + 30
    while time.time() < deadline and not all(gone(p) for p in workers):
        time.sleep(0.2)
    left = [p for p in workers if not gone(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, "a worker outlived the command"
    records = {d.name: store.read_json(d / "result.json") for d in store.run_dirs(exp)}
    assert len(records) == 2
    for res in records.values():
        assert res["status"] == "interrupted"
        assert res["error"].startswith("the nnlab command that started this worker died")
    lengths = {r: len((exp / r / "history.csv").read_text().splitlines()) for r in records}
    assert all(n < 100 for n in lengths.values()), lengths  # stopped mid-run
    time.sleep(2)
    assert lengths == {r: len((exp / r / "history.csv").read_text().splitlines())
                       for r in records}  # nothing trains on  # fmt: skip
    again = runner.invoke(app, ["run", str(config), "--out", str(tmp_path), "-q"])
    assert again.exit_code == 0, again.output
    assert {r["status"] for r in summary(exp)} == {"completed"} and len(summary(exp)) == 2


@pytest.mark.slow
def test_ctrl_c_of_a_long_sweep_with_workers_exits(tmp_path):
    """The runs not yet handed out wait in the main process's queue, more than its pipe holds
    (about 50 specs): after Ctrl-C they are dropped, and the command exits instead of waiting
    at exit for room in a pipe that no worker reads any more."""
    doc = merge(
        TINY, {"name": "long", "train": {"epochs": 50}, "sweep": {"seed": list(range(150))}}
    )
    config = write(tmp_path, doc)
    exp = tmp_path / "long"
    proc = nnlab("run", config, "--out", tmp_path, "--workers", "2", "-q")
    deadline = time.time() + 240
    while time.time() < deadline and not store.run_dirs(exp):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        for pid in [*worker_pids(proc.pid), proc.pid]:
            os.kill(pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("the command did not exit after Ctrl-C") from None
    assert proc.returncode == 130, err.decode()[-2000:]
    statuses = {store.run_status(d) for d in store.run_dirs(exp)}
    assert statuses <= {"completed", "interrupted"} and len(store.run_dirs(exp)) < 150


@pytest.mark.slow
def test_the_next_command_marks_runs_a_dead_command_left_running(tmp_path):
    """A record that still says `running` when a command takes the lock was left by a command
    that died; it is marked interrupted, with why, even when the config no longer has that
    run (so `nnlab ls` and the report do not show it as running forever)."""
    exp = tmp_path / "tiny"
    for run_id in ("old-point_seed=0_aaaaaa", "done_seed=0_bbbbbb"):
        (exp / run_id).mkdir(parents=True)
    store.write_json(
        exp / "old-point_seed=0_aaaaaa" / "result.json",
        {"run_id": "old-point_seed=0_aaaaaa", "status": "running", "started": "x"},
    )
    store.write_json(exp / "done_seed=0_bbbbbb" / "result.json", {"status": "completed"})
    result = runner.invoke(app, ["run", str(write(tmp_path, TINY)), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1 run(s) left `running` by a command that did not finish" in result.output
    old = store.read_json(exp / "old-point_seed=0_aaaaaa" / "result.json")
    assert old["status"] == "interrupted" and old["started"] == "x"
    assert old["error"] == store.STALE_ERROR
    assert store.read_json(exp / "done_seed=0_bbbbbb" / "result.json") == {"status": "completed"}
    assert {store.run_status(d) for d in store.run_dirs(exp)} == {"completed", "interrupted"}


def test_impossible_points_do_not_stop_the_others(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": x @ [1.0, -1.0]}).to_csv(
        tmp_path / "lin.csv", index=False
    )
    (tmp_path / "bad.py").write_text("def build():\n    raise RuntimeError('no model today')\n")
    doc = {
        "name": "mixed",
        "data": {"name": "csv", "path": "lin.csv", "target": "y"},
        "train": {"epochs": 20, "optimizer": "sgd"},
        "sweep": {
            "params": {"train.learning_rate": [0.01, 5.0]},
            "variants": {"mlp": {}, "broken": {"model.kind": "custom",
                                               "model.builder": "bad.py:build"}},
        },
    }  # fmt: skip
    result = runner.invoke(app, ["run", str(write(tmp_path, doc)), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output  # a run failed
    rows = {(r["variant"], r["train.learning_rate"]): r for r in summary(tmp_path / "o" / "mixed")}
    assert rows[("mlp", "0.01")]["status"] == "completed"
    assert rows[("mlp", "5.0")]["status"] == "diverged"
    assert rows[("broken", "0.01")]["status"] == rows[("broken", "5.0")]["status"] == "failed"
    failed = store.read_json(tmp_path / "o" / "mixed" / rows[("broken", "0.01")]["run_id"]
                             / "result.json")  # fmt: skip
    assert failed["error"] == "RuntimeError: no model today"


@pytest.mark.slow
def test_a_worker_that_dies_fails_its_run_and_the_rest_finish(tmp_path):
    (tmp_path / "die.py").write_text(
        "import os, signal\ndef build():\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    doc = merge(TINY, {"name": "crash", "model": {"hidden": None},
                       "sweep": {"variants": {"a": {"model.hidden": [4]},
                                              "dies": {"model.kind": "custom",
                                                       "model.builder": "die.py:build"},
                                              "b": {"model.hidden": [6]},
                                              "c": {"model.hidden": [8]}}}})  # fmt: skip
    proc = nnlab("run", write(tmp_path, doc), "--out", tmp_path, "--workers", "2", "-q")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err.decode()[-2000:]
    rows = {r["variant"]: r for r in summary(tmp_path / "crash")}
    assert {v: r["status"] for v, r in rows.items()} == {
        "a": "completed", "dies": "failed", "b": "completed", "c": "completed"
    }  # fmt: skip
    res = store.read_json(tmp_path / "crash" / rows["dies"]["run_id"] / "result.json")
    assert res["error"].startswith("the worker process died (exit code -9) during the run")


@pytest.mark.parametrize(
    "sweep,expected",
    [
        pytest.param({"mode": "zip", "params": {"train.epochs": [1, 2],
                                                 "train.batch_size": [8]}},
                     "error: sweep.params: zip needs lists of equal length", id="zip"),
        pytest.param({"train.epoch": [1, 2]}, "error: train.epoch: unknown key", id="path"),
        pytest.param({"train.epochs": [1, "two"]},
                     "error: train.epochs: must be an integer, got 'two'", id="type"),
    ],
)  # fmt: skip
def test_bad_sweeps_exit_2_before_anything_runs(tmp_path, sweep, expected):
    config = write(tmp_path, merge(TINY, {"sweep": sweep}))
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert result.output.startswith(expected), result.output
    assert not (tmp_path / "runs").exists()


def test_sweep_command_adds_axes(tmp_path):
    config = write(tmp_path, TINY)
    args = ["-p", "train.batch_size=8,full", "-p", "model.hidden=[4],[4,4]"]
    result = runner.invoke(app, ["sweep", str(config), *args, "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    rows = summary(tmp_path / "tiny")
    assert [(r["train.batch_size"], r["model.hidden"]) for r in rows] == [
        ("8", "[4]"), ("8", "[4, 4]"), ("full", "[4]"), ("full", "[4, 4]")
    ]  # fmt: skip
    recorded = yaml.safe_load((tmp_path / "tiny" / "experiment.yaml").read_text())
    assert recorded["sweep"]["params"]["train.batch_size"] == [8, "full"]
    listing = runner.invoke(app, ["ls", str(tmp_path / "tiny")])
    assert listing.exit_code == 0 and listing.output.count("completed") == 4
    assert "diagnosis" in listing.output
    labels = {r["diagnosis"] for r in rows}
    assert labels and all(label and label in listing.output for label in labels)
    top = runner.invoke(app, ["ls", str(tmp_path)])
    assert "tiny" in top.output and "4/4" in top.output


FULL_DISK_BUILDER = """
import errno, multiprocessing, pathlib, time
import keras
from nnlab import store

here = pathlib.Path(__file__).parent
full_flag = here / "disk-is-full"
in_a_worker = multiprocessing.parent_process() is not None
if in_a_worker and full_flag.exists():
    real = store.atomic_write_text

    def full(target, text):  # the disk fills up when a run's final record is written
        if target.name == store.RESULT_FILE and '"running"' not in text:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(target, text)

    store.atomic_write_text = full


def long_run_is_training():
    histories = (here / "full").glob("long*/history.csv")
    return any(len(h.read_text().splitlines()) > 3 for h in histories)


def build(input_shape, num_outputs, output_activation):
    deadline = time.monotonic() + 120
    while in_a_worker and full_flag.exists() and not long_run_is_training():
        if time.monotonic() > deadline:
            raise RuntimeError("the other worker never started training")
        time.sleep(0.1)  # so that the disk fills while the other worker is mid-run
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(num_outputs, activation=output_activation)])
"""


@pytest.mark.slow
def test_a_full_disk_in_a_worker_is_a_clear_error_and_the_same_command_finishes(tmp_path):
    (tmp_path / "full.py").write_text(FULL_DISK_BUILDER)
    (tmp_path / "disk-is-full").touch()
    doc = merge(TINY, {"name": "full", "model": {"hidden": None},
                       "sweep": {"variants": {"full": {"model.kind": "custom",
                                                       "model.builder": "full.py:build"},
                                              "long": {"model.hidden": [4],
                                                       "train.epochs": 400},
                                              "b": {"model.hidden": [6]},
                                              "c": {"model.hidden": [8]}}}})  # fmt: skip
    config = write(tmp_path, doc)
    proc = nnlab("run", config, "--out", tmp_path, "--workers", "2", "-q")
    _, err = proc.communicate(timeout=600)
    text = err.decode()
    assert proc.returncode == 1, text[-2000:]
    assert "Traceback" not in text and "Exception ignored" not in text, text
    (line,) = [ln for ln in text.splitlines() if ln.startswith("error:")]
    assert "result.json: No space left on device" in line and "run the same command again" in line
    exp_dir = tmp_path / "full"
    records = {d.name: store.read_json(d / "result.json") for d in store.run_dirs(exp_dir)}
    assert all(r is not None for r in records.values())  # every record parses: none is torn
    status = {i.split("_")[0]: r["status"] for i, r in records.items()}
    assert status["full"] == "running"  # its whole start record: the next command trains it
    assert status["long"] == "interrupted"  # the other worker was stopped mid-run
    (long_id,) = [i for i in records if i.startswith("long")]
    assert "could not be written (No space left on device)" in records[long_id]["error"]
    trained = (exp_dir / long_id / "history.csv").read_text().splitlines()
    assert len(trained) > 3  # the epochs it trained are kept
    assert not [p for p in exp_dir.rglob(".*") if p.is_file() and p.name != ".nnlab.lock"]

    (tmp_path / "disk-is-full").unlink()  # space is freed
    again = nnlab("run", config, "--out", tmp_path, "--workers", "2", "-q")
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err.decode()[-2000:]
    rows = summary(exp_dir)
    assert len(rows) == 4 and {r["status"] for r in rows} == {"completed"}


def test_a_stop_request_in_a_finalizer_is_not_reported(tmp_path, monkeypatch):
    """SIGINT/SIGTERM can land while Python runs a finalizer, which cannot raise; the flag
    re-raises it later, so Python's "Exception ignored in" report would only alarm. While
    runs train, such reports are dropped and every other one goes to the hook there was."""
    from nnlab import execute, launchers, stopping

    class Finalizer:
        def __init__(self, exc: BaseException) -> None:
            self.exc = exc

        def __del__(self) -> None:
            raise self.exc

    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_value))
    outer = sys.unraisablehook

    class Training(launchers.Launcher):  # stands in for the runs
        def launch(self, units, exp_dir, on_event):
            Finalizer(ValueError("a real problem"))  # dropped at once: its __del__ raises
            Finalizer(KeyboardInterrupt())  # not a stop request of ours
            stopping.state.requested = True
            Finalizer(KeyboardInterrupt())  # ours: not reported
            stopping.state.requested = False
            return {}

    execute.execute([], tmp_path, Training())
    assert [type(e) for e in reported] == [ValueError, KeyboardInterrupt]
    assert sys.unraisablehook is outer  # put back


def test_a_worker_whose_command_dies_while_it_plots_keeps_the_run_completed(tmp_path, monkeypatch):
    """The parent watcher's stop can land after a run recorded itself completed (while its
    plots are drawn): the worker must leave that record alone, not mark the run interrupted
    and so train it again next time. The worker loop runs here, in this process."""
    import queue

    from nnlab import backend
    from nnlab.launchers import _pool

    from helpers import spec as make_spec

    class Events(list):  # what the main process would read
        def put(self, item):
            self.append(item)

        def cancel_join_thread(self):
            self.append(("cancelled",))

    def plot_run(run_dir, result):  # the command dies while the plots are drawn
        _pool.parent_gone.set()
        raise KeyboardInterrupt

    run = make_spec()
    tasks, events = queue.Queue(), Events()
    tasks.put(_pool.Unit((run,)))
    tasks.put(None)
    monkeypatch.setattr(_pool, "watch_parent", lambda: None)
    monkeypatch.setattr(backend, "limit_threads", lambda *a: None)
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # put back afterwards
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _pool.worker_main(_pool.WorkerSetup("tensorflow", "cpu", 1, None), tasks, events,
                          tmp_path, plot_run)  # fmt: skip
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        _pool.parent_gone.clear()
    record = store.read_json(tmp_path / run.run_id / "result.json")
    assert record["status"] == "completed" and "error" not in record
    assert [e[0] for e in events] == ["start", "epoch", "epoch", "epoch", "cancelled"]


@pytest.mark.slow
def test_a_worker_starts_with_ctrl_c_ignored():
    """Ctrl-C reaches the whole process group, workers still starting up included: they must
    start with SIGINT ignored, not die with a traceback before they can ignore it."""
    import multiprocessing as mp

    from nnlab.launchers import _pool

    from helpers import interrupt_self

    ctx = mp.get_context("spawn")
    plain, held = ctx.Process(target=interrupt_self), ctx.Process(target=interrupt_self)
    plain.start()
    before = signal.getsignal(signal.SIGINT)
    with _pool.child_ignores_sigint():
        held.start()
    assert signal.getsignal(signal.SIGINT) is before  # this process handles Ctrl-C again
    plain.join(120)
    held.join(120)
    assert (plain.exitcode, held.exitcode) == (1, 0)  # KeyboardInterrupt, and ignored


def sigint_ignored(pid: int) -> bool | None:
    """Whether process ``pid`` ignores SIGINT (its SigIgn mask in /proc), None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    (mask,) = [ln.split()[1] for ln in status.splitlines() if ln.startswith("SigIgn:")]
    return bool(int(mask, 16) & (1 << (signal.SIGINT - 1)))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_ctrl_c_while_the_workers_start_is_quiet(tmp_path):
    """Ctrl-C in a terminal goes to the whole process group, workers still importing nnlab
    included. They ignore SIGINT from their first instruction (before, one died with a
    KeyboardInterrupt traceback), and the stop prints no TensorFlow start-up notice."""
    doc = merge(TINY, {"name": "early", "sweep": {"seed": [0, 1, 2, 3]}})
    proc = nnlab("run", write(tmp_path, doc), "--out", tmp_path, "--workers", "2",
                 start_new_session=True)  # fmt: skip
    deadline = time.time() + 240
    while time.time() < deadline and not (workers := worker_pids(proc.pid)):
        time.sleep(0.005)
    ignored = [sigint_ignored(p) for p in workers]  # within milliseconds of their start
    for pid in workers:  # what the terminal's Ctrl-C does to them, while they still start
        os.kill(pid, signal.SIGINT)
    # and to the main process, once past the milliseconds in which it ignores SIGINT itself
    # to start a worker (a Ctrl-C then is lost: see launchers._pool.child_ignores_sigint)
    while time.time() < deadline and len(worker_pids(proc.pid)) < 2:
        time.sleep(0.005)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    text = err.decode()
    assert workers and all(ignored), ignored
    assert proc.returncode == 130, text[-2000:]
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert "oneDNN" not in text and "cuda" not in text.lower(), text
