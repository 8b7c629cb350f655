"""The Ray launcher: units trained by Ray actors, on this machine or a cluster.

The driver (this process) connects to a Ray cluster (``--ray-address``, else ``RAY_ADDRESS``,
else a local Ray instance that it starts and stops), starts one actor per slot
(``_ray_worker.Worker``) and hands each unit after unit, as the local pool hands units to its
processes. Nothing assumes a shared filesystem: the data sets read from files and the custom
builder files go to the cluster once through the object store, the actors train into scratch
folders of their own and stream each event with what it changed, and the driver writes every
file of the run folders (``_mirror.apply``), so resume, the summary, plots and the report
read what a local run leaves.

Failures keep the local launcher's promises: an actor that dies (killed, out of memory, its
node lost) has the run it was training recorded ``failed`` with the reason, and Ray starts it
again (``max_restarts``); runs of its unit that never started stay without a record, for the
next command. Ctrl-C asks every actor to stop at its next epoch, records what they send back
(``interrupted``, with the history so far), kills the actors and raises KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nnlab import stopping, store
from nnlab.errors import ConfigError, NnlabError
from nnlab.events import EpochEnded, Notice, OnEvent, RunFinished, RunStarted
from nnlab.launchers._base import Launcher, RunEnd, Unit
from nnlab.launchers._mirror import apply
from nnlab.launchers._pool import STOP_GRACE_S, WorkerSetup
from nnlab.launchers._ray_worker import Begun, Crash, Message, Shipped, Worker

INSTALL = "pip install 'nnlab[ray]' (in a checkout: pip install -e '.[ray]')"
# how long the driver waits with work to hand out and no actor able to take it (a cluster
# with no room left, nodes still coming up) before it gives up
WAIT_S = float(os.environ.get("NNLAB_RAY_WAIT_S", "300"))
CONNECT_S = 10.0  # how long a cluster's head may take to answer
RETRY_S = 1.0  # an actor that could not take a unit is asked again after this, then
RETRY_MAX_S = 30.0  # twice as long each time it fails again, up to this
# a unit its actor has not begun after this long (the actor is waiting for room to restart
# on) goes to another actor
START_S = float(os.environ.get("NNLAB_RAY_START_S", "120"))
UNIT_ATTEMPTS = 3  # a unit whose actor died before it started a run is handed out again
# environment variables that travel to the actors (the driver's machine is not theirs)
FORWARDED = ("NNLAB_", "KERAS_", "XLA_FLAGS", "TF_CPP_MIN_LOG_LEVEL")
LOCAL_ONLY = ("NNLAB_DATA_DIR", "NNLAB_SHARED_DATASETS", "KERAS_HOME")  # paths on this machine
HOST_DEVICES = "--xla_force_host_platform_device_count"  # set per machine by backend.activate


class LaunchError(NnlabError):
    """The cluster could not train anything (no actor could start, or none for too long)."""

    exit_code = 1


def require_ray() -> None:
    """Called before anything trains: without Ray, ``--launcher ray`` is a usage error."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"launcher: ray needs Ray, which is not installed; install it with {INSTALL}"
        ) from None


class RayLauncher(Launcher):
    """Trains on Ray actors; ``workers`` slots (default: one per CPU of the cluster)."""

    def __init__(
        self,
        workers: int | None = None,
        address: str | None = None,
        gpus_per_run: float = 0.0,
        run_end: RunEnd | None = None,
    ) -> None:
        self.workers, self.address, self.gpus_per_run = workers, address, gpus_per_run
        self.run_end = run_end
        self.started_here = False  # by ``connect``: shut down when the launch ends

    def connect(self) -> None:
        """Join the cluster (``--ray-address``, else ``RAY_ADDRESS``, else a new local Ray
        instance), before the experiment is touched: an address that does not answer is a
        usage error. ``launch`` leaves what this started when it ends."""
        import ray

        if ray.is_initialized():
            return
        address = self.address or os.environ.get("RAY_ADDRESS") or "local"
        local = {"include_dashboard": False} if address == "local" else {}
        _check_reachable(address)
        try:
            with warnings.catch_warnings():  # Ray starts its processes with fork+exec
                warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
                ray.init(address=address, log_to_driver=False, logging_level="ERROR",
                         configure_logging=True, **local)  # fmt: skip
        except Exception as e:
            where = "a local Ray instance" if address == "local" else f"Ray at {address}"
            raise ConfigError(f"--ray-address: cannot start or reach {where}: "
                              f"{type(e).__name__}: {e}") from None  # fmt: skip
        self.started_here = True

    def launch(
        self, units: Sequence[Unit], exp_dir: Path, on_event: OnEvent
    ) -> dict[str, dict[str, Any]]:
        import ray

        self.connect()
        try:
            return _Session(self, units, exp_dir, on_event).run() if units else {}
        finally:
            if self.started_here:
                ray.shutdown()
                self.started_here = False


def _check_reachable(address: str) -> None:
    """Fail fast on a HOST:PORT nobody answers at (Ray itself retries for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "local", "auto", a ray:// client address: Ray's own business
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_S).close()
    except OSError as e:
        raise ConfigError(f"--ray-address: nothing answers at {address} ({e.strerror or e}); "
                          "is the cluster's head running there?") from None  # fmt: skip


@dataclass
class _Slot:
    """One actor and the unit it is training."""

    index: int
    actor: Any
    gen: Any = None  # the streaming call of the unit in progress
    unit: Unit | None = None
    started: list[str] = field(default_factory=list)  # its runs started and not finished
    settled: int = 0  # runs of its unit settled so far
    where: dict[str, Any] = field(default_factory=dict)
    retry_at: float = 0.0
    sent_at: float = 0.0  # when it was handed its unit
    heard: bool = False  # whether its unit has said anything yet
    failures: int = 0  # times in a row it died or could not be reached
    dead: str | None = None  # why it cannot take work any more


def _env_vars(gpus_per_run: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.startswith(FORWARDED) and k not in LOCAL_ONLY}  # fmt: skip
    flags = " ".join(f for f in env.get("XLA_FLAGS", "").split() if not f.startswith(HOST_DEVICES))
    env.pop("XLA_FLAGS", None)
    if flags:  # the node's own core count decides its host devices, not this machine's
        env["XLA_FLAGS"] = flags
    if gpus_per_run:  # runs packed on one GPU: each takes memory as it needs it
        env.update(XLA_PYTHON_CLIENT_PREALLOCATE="false", TF_FORCE_GPU_ALLOW_GROWTH="true")
    else:  # an actor with no GPU reserved must not use one (Ray leaves them visible)
        env.update(CUDA_VISIBLE_DEVICES="", JAX_PLATFORMS="cpu")
    return env


def shipped(specs: list[Any]) -> Shipped:
    """The file-read data sets, and the sources of the builder and callback files, that
    ``specs`` need, read once."""
    from nnlab.data import load_raw, raw_key
    from nnlab.models import builder_sources

    raws: dict[str, Any] = {}
    for spec in specs:
        key = raw_key(spec.config.data)
        if key not in raws:
            raws[key] = load_raw(spec.config.data)
    refs = {s.config.model.builder for s in specs if s.config.model.builder}
    refs |= {c.path for s in specs for c in s.config.train.callbacks}  # the user's callbacks
    builders = builder_sources(sorted(refs))
    from nnlab.envinfo import about_command

    return Shipped({k: v for k, v in raws.items() if v is not None}, builders, about_command())


def checkpoints(exp_dir: Path, unit: Any) -> dict[str, bytes]:
    """The checkpoint of each run of ``unit`` that left one (``train.checkpoint_every``), for
    the actor that trains it next to resume from."""
    out = {}
    for spec in unit.specs:
        path = exp_dir / spec.run_id / store.CHECKPOINT_FILE
        if spec.config.train.checkpoint_every and path.is_file():
            out[spec.run_id] = path.read_bytes()
    return out


class _Session:
    """One launch: the actors, the units still to hand out, and the runs in progress."""

    def __init__(
        self, launcher: RayLauncher, units: Sequence[Unit], exp_dir: Path, on_event: OnEvent
    ) -> None:
        import ray

        self.ray = ray
        self.launcher, self.exp_dir, self.on_event = launcher, exp_dir, on_event
        self.todo: deque[Unit] = deque(units)
        self.spec_of = {s.run_id: s for u in units for s in u.specs}
        self.attempts: dict[int, int] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.busy: dict[Any, _Slot] = {}
        self.slots = self._start_actors(units)
        self.progress = time.monotonic()

    def _start_actors(self, units: Sequence[Unit]) -> list[_Slot]:
        ray, launcher = self.ray, self.launcher
        total = ray.cluster_resources()
        cpus = float(total.get("CPU", 1))
        if launcher.workers:
            n = launcher.workers
        elif launcher.gpus_per_run:
            n = int(float(total.get("GPU", 0)) / launcher.gpus_per_run)
        else:
            n = int(cpus)
        n = max(1, min(n, len(units)))
        per_actor = cpus / n if launcher.workers else 1.0
        per_actor = float(int(per_actor)) if per_actor >= 1 else max(per_actor, 0.01)
        config = units[0].specs[0].config
        setup = WorkerSetup(config.backend, config.device, max(1, int(per_actor)), None)
        # sent with every unit (each node fetches it once): an actor that Ray restarts after
        # its node was lost has it again with its next unit
        self.shipped = [ray.put(shipped(list(self.spec_of.values())))]
        actor = ray.remote(Worker).options(
            num_cpus=per_actor, num_gpus=launcher.gpus_per_run, max_restarts=-1,
            max_concurrency=2, scheduling_strategy="SPREAD",
            runtime_env={"env_vars": _env_vars(launcher.gpus_per_run)},
        )  # fmt: skip
        return [_Slot(i, actor.remote(setup, i)) for i in range(n)]

    def run(self) -> dict[str, dict[str, Any]]:
        try:
            while self.todo or self.busy:
                stopping.check()
                self._hand_out()
                if not self.busy:
                    self._wait_for_room()
                    continue
                for gen in self._ready():
                    self._step(gen)
                self._reclaim_unstarted()
        except (KeyboardInterrupt, OSError) as e:
            why = ("interrupted by the user (Ctrl-C)" if isinstance(e, KeyboardInterrupt)
                   else f"stopped because {e.filename or 'a file'} could not be written "
                        f"({e.strerror or e})")  # fmt: skip
            with contextlib.suppress(KeyboardInterrupt):  # another Ctrl-C cuts the wait short
                self._stop(why)
            raise
        finally:
            self._close()
        return self.results

    def _close(self) -> None:
        """Let idle actors remove their scratch folders, then end every actor."""
        with contextlib.suppress(Exception):
            closing = [s.actor.close.remote() for s in self.slots if s.gen is None and not s.dead]
            self.ray.wait(closing, num_returns=len(closing), timeout=5)
        for slot in self.slots:
            with contextlib.suppress(Exception):
                self.ray.kill(slot.actor, no_restart=True)

    def _ready(self) -> list[Any]:
        """The streams with a message waiting (every one of them, not only the first)."""
        gens = list(self.busy)
        ready, rest = self.ray.wait(gens, num_returns=1, timeout=0.5)
        if ready and rest:
            ready += self.ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        return ready

    def _hand_out(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if not self.todo:
                return
            if slot.gen is None and slot.dead is None and slot.retry_at <= now:
                slot.unit = self.todo.popleft()
                carried = checkpoints(self.exp_dir, slot.unit)
                slot.gen = slot.actor.train.remote(slot.unit, self.launcher.run_end, self.shipped,
                                                   carried)  # fmt: skip
                slot.sent_at, slot.heard, slot.settled = now, False, 0
                self.busy[slot.gen] = slot

    def _reclaim_unstarted(self) -> None:
        """Take back a unit that its actor has not begun for ``START_S`` (Ray queues it for
        an actor restarting after its node was lost, until there is room for it)."""
        now = time.monotonic()
        for gen, slot in list(self.busy.items()):
            if slot.heard or now - slot.sent_at <= START_S or slot.unit is None:
                continue
            if self.ray.wait([gen], timeout=0)[0]:
                continue  # it has begun after all: its message is next
            # a fresh process, so that a late start cannot train it a second time
            self.ray.kill(slot.actor, no_restart=False)
            self.todo.appendleft(slot.unit)
            slot.retry_at = now + START_S
            self._free(slot)

    def _wait_for_room(self) -> None:
        dead = [s.dead for s in self.slots if s.dead]
        if len(dead) == len(self.slots):
            raise LaunchError(f"launcher: no Ray worker could start: {dead[0]}")
        if time.monotonic() - self.progress > WAIT_S:
            raise LaunchError(
                f"launcher: no Ray worker took work for {WAIT_S:.0f} s (is there room on the "
                "cluster? NNLAB_RAY_WAIT_S sets the wait); run the same command to go on"
            )
        time.sleep(0.1)

    def _step(self, gen: Any) -> None:
        """Read the next message of ``gen``: an event, its end, or its actor's death."""
        slot = self.busy[gen]
        try:
            message = self.ray.get(next(gen))
        except StopIteration:
            self._free(slot)
            return
        except self.ray.exceptions.RayError as e:
            self._lost(slot, e)
            return
        self.progress, slot.heard, slot.failures = time.monotonic(), True, 0
        if isinstance(message, Begun):
            slot.where = message.where
        elif isinstance(message, Crash):
            self._fail_started(slot, f"the unit stopped: {message.error}")
        else:
            self._handle(slot, message)

    def _handle(self, slot: _Slot, message: Message) -> None:
        event, slot.where = message.event, message.where
        run_id = getattr(event, "run_id", None)
        run_dir = self.exp_dir / run_id if run_id else None
        if isinstance(event, RunStarted):
            spec = self.spec_of[event.run_id]
            started = datetime.now(UTC).isoformat(timespec="seconds")
            record = {"run_id": run_id, "status": store.RUNNING, "started": started}
            store.begin_run(run_dir, spec.config.run_dict(), record)
            slot.started.append(event.run_id)
        if run_dir is not None and message.changes:
            apply(run_dir, message.changes)
        if isinstance(event, RunFinished):
            if event.result.get("status") != store.INTERRUPTED:  # it ended: no resuming it
                (self.exp_dir / event.run_id / store.CHECKPOINT_FILE).unlink(missing_ok=True)
            if event.run_id in slot.started:
                slot.started.remove(event.run_id)
            slot.settled += 1
            self._settle(event.run_id, event.result)
        elif isinstance(event, RunStarted | EpochEnded) or run_id is None:
            self.on_event(event)

    def _settle(self, run_id: str, result: dict[str, Any]) -> None:
        self.results[run_id] = result
        self.on_event(RunFinished(run_id, result))

    def _free(self, slot: _Slot) -> None:
        self.busy.pop(slot.gen, None)
        slot.gen, slot.unit, slot.started, slot.settled = None, None, [], 0

    def _fail_started(self, slot: _Slot, why: str) -> None:
        while slot.started:
            run_id = slot.started.pop(0)
            slot.settled += 1
            self._settle(run_id, store.record_end(self.exp_dir / run_id, run_id, store.FAILED,
                                                  why))  # fmt: skip

    def _lost(self, slot: _Slot, error: Exception) -> None:
        """The actor died or could not be reached: fail the runs it was training, or hand
        its unit out again when none had started; the actor is asked again later, less and
        less often while it stays out of reach (Ray restarts it where there is room)."""
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        node = slot.where.get("node_ip", "?")
        died = (f"the Ray worker on node {node} died during the run ({type(error).__name__}: "
                f"{first}); a lost node or out of memory is the usual cause")  # fmt: skip
        if slot.started:
            self._fail_started(slot, died)
        elif slot.unit is not None and not slot.settled:  # none of its runs began: again
            unit, key = slot.unit, id(slot.unit)
            if slot.heard or not isinstance(error, self.ray.exceptions.ActorUnavailableError):
                self.attempts[key] = self.attempts.get(key, 0) + 1  # it took the unit and died
            if self.attempts.get(key, 0) < UNIT_ATTEMPTS:
                self.todo.appendleft(unit)
            else:  # it kills every worker that takes it before its first run starts
                self.on_event(Notice(f"{len(unit.specs)} run(s) not trained: "
                                     f"{UNIT_ATTEMPTS} Ray workers died before starting "
                                     f"them ({died})"))  # fmt: skip
        # runs of its unit that never started stay without a record, for the next command
        if getattr(error, "actor_init_failed", False) or "creation task" in str(error):
            slot.dead = f"{type(error).__name__}: {first}"  # its constructor failed
        slot.failures += 1
        slot.retry_at = time.monotonic() + min(RETRY_MAX_S, RETRY_S * 2 ** (slot.failures - 1))
        self._free(slot)

    def _stop(self, why: str) -> None:
        """Ask every busy actor to stop at its next epoch, record what they send back
        (saying ``why``), and record runs whose actor did not answer in time the same way.
        An actor with no run started yet is ended at once."""
        self.todo.clear()
        for slot in list(self.busy.values()):
            if slot.started:
                slot.actor.stop.remote()
            else:
                self._end(slot, why)
        deadline = time.monotonic() + STOP_GRACE_S
        while self.busy and time.monotonic() < deadline:
            for gen in self._ready():
                self._step_stopping(self.busy[gen], gen, why)
        for slot in list(self.busy.values()):
            self._end(slot, why)

    def _end(self, slot: _Slot, why: str) -> None:
        """Kill ``slot``'s actor and record its runs in progress interrupted, saying ``why``;
        a record that cannot be written stays `running`, for the next command to repair."""
        with contextlib.suppress(Exception):
            self.ray.kill(slot.actor, no_restart=True)
        try:
            for run_id in slot.started:
                with contextlib.suppress(OSError):
                    self._settle(run_id, store.record_end(self.exp_dir / run_id, run_id,
                                                          store.INTERRUPTED, why))  # fmt: skip
        finally:
            self._free(slot)

    def _step_stopping(self, slot: _Slot, gen: Any, why: str) -> None:
        try:
            message = self.ray.get(next(gen))
        except (StopIteration, self.ray.exceptions.RayError):
            self._end(slot, why)  # it has ended: what it did not send back ends here
            return
        if isinstance(message, Crash):
            self._end(slot, why)
            return
        if not isinstance(message, Message):
            return
        event = message.event
        try:
            if isinstance(event, RunFinished) and event.result.get("status") in store.STOPPED:
                run_dir = self.exp_dir / event.run_id
                if event.run_id in slot.started:
                    slot.started.remove(event.run_id)
                apply(run_dir, message.changes)
                self._settle(event.run_id, store.record_end(run_dir, event.run_id,
                                                            store.INTERRUPTED, why))  # fmt: skip
            else:
                self._handle(slot, message)
        except OSError:  # the disk: that run's record stays `running`; the others go on
            pass
