"""The Ray launcher on a real multi-node Ray cluster on this machine.

One cluster per module: a head node with no CPUs (so no run trains there) and two worker nodes
with one CPU each, every one on a loopback address, with Ray's node-failure detection cut to
about a second. The driver is the ``nnlab`` command in its own process, as a user runs it;
the workers write a list of every file they open (``NNLAB_RAY_OPEN_LOG``), which proves what
they touched and what they did not.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import PIMA_FILE
from tests.helpers import STOP_AT

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

# a cluster on 127.0.0.1 only: without this Ray swaps a loopback address for the machine's own
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
FAST_FAILURE_DETECTION = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 300,
    "health_check_failure_threshold": 3,
}


@pytest.fixture(scope="module")
def cluster() -> Any:
    from ray.cluster_utils import Cluster

    with pytest.MonkeyPatch.context() as mp:
        for k, v in LOOPBACK.items():
            mp.setenv(k, v)
        c = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 0, "node_ip_address": "127.0.0.1",
            "_system_config": FAST_FAILURE_DETECTION,
        })  # fmt: skip
        c.workers = [c.add_node(num_cpus=1, node_ip_address="127.0.0.1") for _ in range(2)]
        c.wait_for_nodes()
        try:
            yield c
        finally:
            c.shutdown()


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "RAY_ADDRESS")}
    return {**out, **LOOPBACK, **extra}


def command(config: Path, out: Path, cluster: Any, *more: str) -> list[str]:
    return [sys.executable, "-m", "nnlab", "run", str(config), "-o", str(out), "--launcher",
            "ray", "--ray-address", cluster.address, "-q", *more]  # fmt: skip


def pima_config(tmp_path: Path, epochs: int, **train: Any) -> Path:
    if not PIMA_FILE.is_file():
        pytest.skip(f"{PIMA_FILE} not found")
    doc = {
        "name": "ray", "fused": False, "repeats": 2,
        "data": {"name": "pima", "path": str(PIMA_FILE)},
        "model": {"kind": "mlp", "hidden": [8]},
        "train": {"epochs": epochs, "batch_size": 32, "optimizer": "adam", **train},
        "sweep": {"train.learning_rate": [0.001, 0.01, 0.03, 0.1]},
    }  # fmt: skip
    path = tmp_path / "ray.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def summary(exp: Path) -> dict[str, dict[str, str]]:
    with open(exp / "summary.csv", newline="") as f:
        return {row["run_id"]: row for row in csv.DictReader(f)}


def record(run_dir: Path, name: str = "result.json") -> dict[str, Any]:
    try:
        return json.loads((run_dir / name).read_text())
    except (OSError, ValueError):
        return {}


def history_rows(run_dir: Path) -> int:
    return max(0, len((run_dir / "history.csv").read_text().splitlines()) - 1)


def training_run(exp: Path, node_id: str | None = None, timeout: float = 300) -> Path | None:
    """A run of ``exp`` still training, with three rows of history or more (and on the node
    ``node_id``, when given); None when none is after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        for run_dir in exp.glob("learning_rate=*"):
            if record(run_dir).get("status") != "running":
                continue
            where = record(run_dir, "env.json").get("worker", {})
            if node_id is not None and where.get("node_id") != node_id:
                continue
            if (run_dir / "history.csv").exists() and history_rows(run_dir) >= 3:
                return run_dir
    return None


def test_a_sweep_spreads_over_both_nodes_and_matches_the_local_launcher(
    cluster: Any, tmp_path: Path
) -> None:
    config = pima_config(tmp_path, epochs=3)
    opens = tmp_path / "opens.log"
    logged = env(NNLAB_RAY_OPEN_LOG=str(opens))
    out = subprocess.run(command(config, tmp_path / "ray", cluster), capture_output=True,
                         text=True, timeout=600, env=logged)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    local = subprocess.run([sys.executable, "-m", "nnlab", "run", str(config), "-o",
                            str(tmp_path / "local"), "-q"], capture_output=True, text=True,
                           timeout=600, env=env())  # fmt: skip
    assert local.returncode == 0, local.stderr[-3000:]

    exp, twin = tmp_path / "ray" / "ray", tmp_path / "local" / "ray"
    rows, local_rows = summary(exp), summary(twin)
    assert sorted(rows) == sorted(local_rows) and len(rows) == 8
    assert {r["status"] for r in rows.values()} == {"completed"}
    for run_id, row in rows.items():  # the same seeds, data, batches: the same numbers
        assert float(row["final_val_loss"]) == pytest.approx(
            float(local_rows[run_id]["final_val_loss"]), rel=1e-4)  # fmt: skip
        assert history_rows(exp / run_id) == 4  # epoch 0 and three more
    workers = [record(exp / r, "env.json")["worker"] for r in rows]
    assert {w["launcher"] for w in workers} == {"ray"}
    assert {w["node_id"] for w in workers} == {n.node_id for n in cluster.workers}
    assert {w["node_ip"] for w in workers} == {"127.0.0.1"}

    # what the workers opened: their own scratch folders, never the experiment or the data
    lines = opens.read_text().splitlines()
    paths = [line.split(" ", 1)[1] for line in lines]
    assert any("nnlab-ray-worker-" in p and p.endswith("history.csv") for p in paths)
    assert not [p for p in paths if p.startswith(str(tmp_path / "ray"))]
    assert str(PIMA_FILE) not in paths and str(PIMA_FILE.resolve()) not in paths
    # and every file of the run folders is there, written by the driver
    for run_id in rows:
        names = sorted(p.name for p in (exp / run_id).iterdir())
        assert names == ["config.yaml", "env.json", "history.csv", "plots", "result.json"]
        assert (exp / run_id / "plots" / "learning_curves.png").stat().st_size > 10_000


def test_callback_files_travel_with_the_work_and_saved_models_and_tensorboard_come_back(
    cluster: Any, tmp_path: Path
) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "stop.py").write_text(STOP_AT)
    stop = {"path": str(tmp_path / "code" / "stop.py:StopAt"), "args": {"epoch": 2}}
    config = pima_config(tmp_path, epochs=10, callbacks=[stop], save_model="final")
    opens = tmp_path / "opens.log"
    logged = env(NNLAB_RAY_OPEN_LOG=str(opens))
    out = subprocess.run(command(config, tmp_path / "ray", cluster, "--tensorboard"),
                         capture_output=True, text=True, timeout=600, env=logged)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    rows = summary(tmp_path / "ray" / "ray")
    assert len(rows) == 8 and {r["epochs_run"] for r in rows.values()} == {"2"}  # it stopped
    paths = [line.split(" ", 1)[1] for line in opens.read_text().splitlines()]
    assert not [p for p in paths if p.startswith(str(tmp_path / "code"))]  # its source came
    for run_id in rows:
        run_dir = tmp_path / "ray" / "ray" / run_id
        saved = record(run_dir)["model"]
        assert saved["weights"] == "final" and saved["epoch"] == 2
        assert (run_dir / "model.keras").stat().st_size == saved["bytes"]
        # the TensorBoard files the actor wrote came back with the run (epochs 0..2)
        [events] = (run_dir / "tensorboard" / "validation").glob("events.out.tfevents.*")
        assert events.stat().st_size > 0
        assert list((run_dir / "tensorboard").glob("events.out.tfevents.*.hparams.nnlab"))


def test_a_lost_node_fails_its_run_only_and_the_same_command_finishes(
    cluster: Any, tmp_path: Path
) -> None:
    config = pima_config(tmp_path, epochs=40, batch_size=8)
    cmd = command(config, tmp_path / "out", cluster)
    exp = tmp_path / "out" / "ray"
    victim = cluster.workers[0]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env())  # fmt: skip
    try:
        target = training_run(exp, victim.node_id)
        assert target is not None, "no run trained on the first worker node"
        done_before = {d.name for d in exp.glob("learning_rate=*")
                       if record(d).get("status") == "completed"}  # fmt: skip
        cluster.remove_node(victim, allow_graceful=False)
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err[-3000:]  # one run failed
    rows = summary(exp)
    failed = [r for r, row in rows.items() if row["status"] == "failed"]
    assert failed == [target.name]
    lost = record(target)
    assert "Ray worker on node 127.0.0.1 died during the run" in lost["error"]
    assert history_rows(target) >= 3  # what it streamed before the node went stays
    assert {r for r, row in rows.items() if row["status"] == "completed"} >= done_before
    assert sum(row["status"] == "completed" for row in rows.values()) == 7

    cluster.workers[0] = cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
    cluster.wait_for_nodes()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env())
    assert again.returncode == 0, again.stderr[-3000:]
    rows = summary(exp)
    assert {row["status"] for row in rows.values()} == {"completed"}
    assert record(target)["status"] == "completed"
    finished_before = {r for r in rows if r != target.name}
    for run_id in finished_before:  # not trained again: their records are the first ones
        assert "worker" in record(exp / run_id, "env.json")


def test_ctrl_c_of_the_driver_exits_130_and_keeps_partial_histories(
    cluster: Any, tmp_path: Path
) -> None:
    config = pima_config(tmp_path, epochs=200, batch_size=8)
    exp = tmp_path / "out" / "ray"
    proc = subprocess.Popen(command(config, tmp_path / "out", cluster), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())  # fmt: skip
    try:
        assert training_run(exp) is not None
        assert actor_processes()  # the check below sees them while they work
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    statuses = {d.name: record(d).get("status") for d in exp.glob("learning_rate=*")}
    assert "running" not in statuses.values()
    interrupted = [d for d in exp.glob("learning_rate=*") if statuses[d.name] == "interrupted"]
    assert interrupted and max(history_rows(d) for d in interrupted) >= 3
    assert all(history_rows(d) >= 1 for d in interrupted)  # every one keeps what it had
    assert all("Ctrl-C" in record(d)["error"] for d in interrupted)
    # the actors went with the driver: no actor process is left on the nodes
    assert no_actor_left()


def actor_processes() -> list[str]:
    """The processes of nnlab's actors on this machine (Ray names them after the class)."""
    out = subprocess.run(["pgrep", "-af", "ray::Worker"], capture_output=True, text=True)
    return out.stdout.splitlines()


def no_actor_left(timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while actor_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    return actor_processes() == []


def test_kill_9_of_the_driver_takes_its_actors_and_the_next_command_repairs_and_finishes(
    cluster: Any, tmp_path: Path
) -> None:
    """Also with checkpoints: a killed run's last checkpoint reached the driver, travels to
    the actor that trains the run again, and the run goes on from there."""
    config = pima_config(tmp_path, epochs=40, batch_size=8, checkpoint_every=2)
    cmd = command(config, tmp_path / "out", cluster)
    exp = tmp_path / "out" / "ray"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
    try:
        assert training_run(exp) is not None
        assert actor_processes()
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    left = [d.name for d in exp.glob("learning_rate=*") if record(d).get("status") == "running"]
    assert left  # what a killed driver leaves: records that still say running
    assert no_actor_left()  # they go with their owner
    saved = {name: pickle.loads((exp / name / "checkpoint.pkl").read_bytes())["epochs_done"]
             for name in left if (exp / name / "checkpoint.pkl").is_file()}  # fmt: skip
    assert saved and all(done >= 2 for done in saved.values())

    again = subprocess.run([*cmd[:-1]], capture_output=True, text=True, timeout=600, env=env())
    assert again.returncode == 0, again.stderr[-3000:]
    assert "interrupted" in again.stderr  # the repair is announced
    rows = summary(exp)
    assert len(rows) == 8 and {row["status"] for row in rows.values()} == {"completed"}
    for name, done in saved.items():
        assert record(exp / name)["resumed_from_epoch"] == done
        epochs = [int(line.split(",")[0]) for line in
                  (exp / name / "history.csv").read_text().splitlines()[1:]]  # fmt: skip
        assert epochs == list(range(41))  # each epoch once
    assert not list(exp.glob("*/checkpoint.pkl"))  # gone once each run ended


def test_fused_groups_train_as_units_on_the_actors(cluster: Any, tmp_path: Path) -> None:
    doc = {
        "name": "groups", "repeats": 2, "data": {"name": "circles", "n_samples": 300},
        "model": {"kind": "mlp", "hidden": [8]}, "train": {"epochs": 3},
        "sweep": {"train.batch_size": [16, 32], "train.learning_rate": [0.01, 0.1]},
    }  # fmt: skip
    config = tmp_path / "groups.yaml"
    config.write_text(yaml.safe_dump(doc))
    out = subprocess.run(command(config, tmp_path / "out", cluster, "--fused"),
                         capture_output=True, text=True, timeout=600, env=env())  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    exp = tmp_path / "out" / "groups"
    rows = summary(exp)
    assert len(rows) == 8 and {row["status"] for row in rows.values()} == {"completed"}
    envs = [record(exp / r, "env.json") for r in rows]
    assert [e["fused"]["members"] for e in envs] == [4] * 8  # two groups of four
    by_batch: dict[str, set[str]] = {}
    for run_id, e in zip(rows, envs, strict=True):
        by_batch.setdefault(rows[run_id]["train.batch_size"], set()).add(e["worker"]["node_id"])
    assert all(len(nodes) == 1 for nodes in by_batch.values())  # a group trains in one place
    assert {n for nodes in by_batch.values() for n in nodes} == {
        n.node_id for n in cluster.workers
    }  # and the two groups on the two nodes


def test_runs_without_a_validation_set_and_their_evaluations_come_back(
    cluster: Any, tmp_path: Path
) -> None:
    doc = {
        "name": "none", "repeats": 2,
        "data": {"name": "circles", "n_samples": 300, "validation": "none"},
        "model": {"kind": "mlp", "hidden": [8]},
        "train": {"epochs": 3, "evaluate_on": ["train", "all"],
                  "early_stopping": {"patience": 5}},
        "sweep": {"train.learning_rate": [0.01, 0.1]},
    }  # fmt: skip
    config = tmp_path / "none.yaml"
    config.write_text(yaml.safe_dump(doc))
    for how in ("--fused", "--no-fused"):  # a fused group on one actor, and runs on both
        out = subprocess.run(command(config, tmp_path / how, cluster, how),
                             capture_output=True, text=True, timeout=600, env=env())  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
        exp = tmp_path / how / "none"
        rows = summary(exp)
        assert len(rows) == 4 and {row["status"] for row in rows.values()} == {"completed"}
        for run_id, row in rows.items():
            assert not [c for c in row if "val" in c]
            assert float(row["all_accuracy"]) == pytest.approx(float(row["train_accuracy"]))
            assert record(exp / run_id)["monitor"] == "loss"
            assert record(exp / run_id, "env.json")["worker"]["launcher"] == "ray"
