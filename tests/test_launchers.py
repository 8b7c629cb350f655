"""The launchers' bookkeeping, without training: which runs a dead or silent worker leaves
settled, and which it leaves for the next command. The real workers are tested end to end
(and slow) in test_execute.py."""

from __future__ import annotations

from typing import Any

import pytest

from nnlab import events, store
from nnlab.config import validate
from nnlab.expansion import expand
from nnlab.launchers import InlineLauncher, Unit, units_of
from nnlab.launchers import _pool as pool

from helpers import TINY, merge

SPECS = expand(validate(merge(TINY, {"repeats": 3})))


class DeadProcess:
    exitcode = -9

    def is_alive(self) -> bool:
        return False


def pool_of(tmp_path, units: list[Unit], monkeypatch) -> tuple[Any, list[events.Event]]:
    seen: list[events.Event] = []
    launcher = pool.PoolLauncher(workers=2)
    p = pool._Pool(launcher, units, tmp_path, seen.append)
    spawned: list[Any] = []
    monkeypatch.setattr(p, "spawn", spawned.append)
    p.procs[101] = (DeadProcess(), "setup")
    return p, seen


def test_a_dead_worker_fails_the_run_it_trained_and_leaves_the_rest_of_its_unit(
    tmp_path, monkeypatch
):
    unit = Unit(tuple(SPECS))  # three runs trained together
    p, seen = pool_of(tmp_path, [unit], monkeypatch)
    store.begin_run(tmp_path / SPECS[0].run_id, {}, {"run_id": SPECS[0].run_id,
                                                      "status": "running"})  # fmt: skip
    p.handle(101, events.RunStarted(SPECS[0].run_id, 3))
    p.reap()
    assert p.remaining == 0  # one run settled, two left for the next command
    record = store.read_json(tmp_path / SPECS[0].run_id / store.RESULT_FILE)
    assert record["status"] == "failed" and "died (exit code -9) during the run" in record["error"]
    assert [e.run_id for e in seen if isinstance(e, events.RunFinished)] == [SPECS[0].run_id]
    assert not (tmp_path / SPECS[1].run_id).exists() and not (tmp_path / SPECS[2].run_id).exists()


def test_a_worker_that_left_after_its_stop_sign_settles_nothing(tmp_path, monkeypatch):
    p, seen = pool_of(tmp_path, units_of(SPECS), monkeypatch)
    p.reap()
    assert p.remaining == 3 and seen == [] and p.procs == {}


def test_after_a_stop_a_silent_worker_keeps_a_record_that_says_completed(tmp_path, monkeypatch):
    """The message that a run completed can be lost in a stop; the record on disk says so, and
    is kept rather than overwritten as interrupted."""
    p, seen = pool_of(tmp_path, units_of(SPECS[:2]), monkeypatch)
    done, cut = SPECS[0].run_id, SPECS[1].run_id
    for run_id, status in ((done, "completed"), (cut, "running")):
        store.begin_run(tmp_path / run_id, {}, {"run_id": run_id, "status": status})
    p.running = {101: done, 102: cut}
    p.procs[102] = (DeadProcess(), "setup")
    p.stop_workers("interrupted by the user (Ctrl-C)")
    statuses = {e.run_id: e.result["status"] for e in seen if isinstance(e, events.RunFinished)}
    assert statuses == {done: "completed", cut: "interrupted"}
    assert store.read_json(tmp_path / done / store.RESULT_FILE)["status"] == "completed"


@pytest.mark.parametrize("n", [0, 1])
def test_the_pool_trains_a_lone_unit_inline(tmp_path, monkeypatch, n):
    called: list[int] = []
    monkeypatch.setattr(InlineLauncher, "launch", lambda self, u, d, e: called.append(len(u)) or {})
    pool.PoolLauncher(workers=4).launch(units_of(SPECS[:n]), tmp_path, events.ignore)
    assert called == [n]


def test_workers_share_the_cpu_threads_and_get_one_gpu_each(monkeypatch):
    monkeypatch.setattr(pool.os, "cpu_count", lambda: 8)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    setups = pool.worker_setups(2, "jax", "gpu", ["gpu0", "gpu1", "gpu2"])
    assert [(s.threads, s.gpu) for s in setups] == [(4, "0"), (4, "1")]
    assert [s.gpu for s in pool.worker_setups(2, "jax", "cpu", ["gpu0", "gpu1"])] == [None, None]
