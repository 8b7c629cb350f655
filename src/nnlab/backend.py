"""Choosing the Keras backend and device, before Keras is first imported.

``activate`` is called once per process by the code that trains (``execute``); every other
command leaves the backend alone so that it starts fast.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import tempfile
import types
from collections.abc import Iterator
from typing import Any

from nnlab.cores import available_cores
from nnlab.errors import BackendError

# TensorFlow's C++ notices (and spurious tf.data "NodeDef mentions attribute" errors) and its
# retracing warnings say nothing a user can act on; real failures raise exceptions. Set when
# this module is imported, which is before any backend (in workers too).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
INSTALL_HINT = {
    "tensorflow": "pip install tensorflow",
    "jax": "pip install jax",
    "torch": "pip install torch",
}


def check_installed(backend: str) -> None:
    """Raise a ``BackendError`` naming the install command when ``backend`` is missing."""
    if importlib.util.find_spec(BACKEND_MODULES[backend]) is None:
        raise BackendError(
            f"backend: {backend} is not installed in this environment ({INSTALL_HINT[backend]})"
        )


def activate(backend: str, device: str) -> dict[str, Any]:
    """Select ``backend`` for Keras and put it on ``device``; returns a device description.

    Must run before the first ``import keras`` in this process. A second call with the
    same backend is cheap; a different backend after Keras was imported is an error.
    """
    check_installed(backend)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    loaded = sys.modules.get("keras")
    if loaded is not None:
        current = loaded.backend.backend()
        if current != backend:
            raise BackendError(
                f"backend: this process already runs Keras on {current}; "
                f"start a new process for {backend}"
            )
    else:
        os.environ["KERAS_BACKEND"] = backend
        if device == "cpu":
            # hide accelerators before the backend initialises them
            os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
            if backend == "jax":
                os.environ["JAX_PLATFORMS"] = "cpu"
        if backend == "jax":
            _host_devices()
    return _setup_devices(backend, device)


def _host_devices() -> None:
    """Give JAX one CPU device per core (unless ``XLA_FLAGS`` already says how many), so
    that a fused group's members are split over the cores (``fused.program``); a separate
    run uses the first device, as before."""
    flags = os.environ.get("XLA_FLAGS", "")
    cores = available_cores()
    if "xla_force_host_platform_device_count" not in flags and cores > 1:
        count = f"--xla_force_host_platform_device_count={cores}"
        os.environ["XLA_FLAGS"] = f"{flags} {count}".strip()


@contextlib.contextmanager
def native_stderr_muted(module: str = "tensorflow") -> Iterator[None]:
    """Hold back what file descriptor 2 receives while ``module`` is first imported:
    TensorFlow's C++ logs notices (oneDNN, "could not find cuda drivers") before
    TF_CPP_MIN_LOG_LEVEL can reach them. If the import fails, what it wrote is replayed
    before the error propagates; a stop (Ctrl-C, a worker told to stop while it starts) is
    no failure to explain. ``NNLAB_TF_LOGS=1`` shows everything as it comes. Keras' saving
    imports TensorFlow on any backend, so saving and loading models go through this too."""
    if module in sys.modules or os.environ.get("NNLAB_TF_LOGS"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        held = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    except (OSError, ValueError):  # no real fd 2 (an embedding host): leave it alone
        yield
        return
    failed = False
    try:
        os.dup2(held.fileno(), 2)
        yield
    except Exception:
        failed = True
        raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        if failed:
            held.seek(0)
            os.write(2, held.read())
        held.close()


def _tensorflow() -> Any:
    """``import tensorflow``, its start-up notices held back (the first time)."""
    with native_stderr_muted("tensorflow"):
        import tensorflow as tf
    return tf


def _setup_devices(backend: str, device: str) -> dict[str, Any]:
    gpus = _gpus(backend, device)
    if device == "gpu" and not gpus:
        raise BackendError(
            f"device: gpu was requested but {backend} sees no GPU on this machine; "
            "use device: auto (GPU when there is one) or device: cpu"
        )
    use = "gpu" if gpus and device != "cpu" else "cpu"
    return {"requested": device, "used": use, "gpus": gpus}


def _gpus(backend: str, device: str) -> list[str]:
    if backend == "tensorflow":
        tf = _tensorflow()

        if device == "cpu":
            # RuntimeError: already initialised, and CUDA_VISIBLE_DEVICES did the job
            with contextlib.suppress(RuntimeError):
                tf.config.set_visible_devices([], "GPU")
            return []
        found = tf.config.list_physical_devices("GPU")
        for gpu in found:
            # take GPU memory as needed, so parallel runs can share one card
            # (RuntimeError: already initialised; growth was set by the first call)
            with contextlib.suppress(RuntimeError):
                tf.config.experimental.set_memory_growth(gpu, True)
        return [g.name for g in found]
    if backend == "jax":
        import jax

        try:
            return [str(d) for d in jax.devices("gpu")]
        except RuntimeError:
            return []
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def set_seed(seed: int, backend: str) -> None:
    """Seed Python, NumPy and Keras' global seed generator as ``keras.utils.set_random_seed``
    does; on TensorFlow also TensorFlow's seed and deterministic ops. On the other backends
    TensorFlow is left alone: ``set_random_seed`` would import it (seconds, and its C++
    start-up lines) only to seed a library nothing uses."""
    import random

    import keras
    import numpy as np

    if backend == "tensorflow":
        keras.utils.set_random_seed(seed)
        tf = _tensorflow()

        tf.config.experimental.enable_op_determinism()
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if backend == "torch":
        import torch

        torch.manual_seed(seed)


def custom_gradients() -> frozenset[str]:
    """The names in TensorFlow's global gradient registry now (empty without TensorFlow);
    give them to ``forget_custom_gradients`` when a run is over."""
    registry = _gradient_registry()
    return frozenset(registry) if registry is not None else frozenset()


def forget_custom_gradients(before: frozenset[str]) -> int:
    """Drop the gradient functions Keras' all-reduce registered since ``before``; returns
    how many. Never raises: if it cannot tell, it drops nothing.

    Keras' TensorFlow optimizer sums gradients with ``ReplicaContext.all_reduce`` even when
    there is no distribution strategy. In a traced train step that is a
    ``tf.custom_gradient``, which registers a uniquely named ``CustomGradient-<n>`` function
    in TensorFlow's global registry and never removes it, and that function holds the whole
    traced step: its graph and the functions it calls. Without this a worker grew by about
    4.6 MiB with every run of a small MLP, for as long as the sweep lasted
    (``benchmarks/memory.py``). Only entries made by the all-reduce are dropped: a custom
    gradient of the user's own (a builder's module-level ``tf.function``, say) may be needed
    again by a later run in the same process. Call it after ``keras.backend.clear_session()``.
    """
    try:
        registry = _gradient_registry()
        if registry is None:
            return 0
        new = [k for k in list(registry) if isinstance(k, str) and k not in before]
        stale = [k for k in new if k.startswith("CustomGradient-")
                 and _made_by_all_reduce(registry[k])]  # fmt: skip
        for name in stale:
            registry.pop(name, None)
        return len(stale)
    except Exception:  # a TensorFlow that works otherwise: the leak returns, nothing breaks
        return 0


def _made_by_all_reduce(entry: Any) -> bool:
    """Whether a registered gradient function wraps the gradient that
    ``ReplicaContext.all_reduce`` (tensorflow/python/distribute/distribute_lib.py) defines:
    follow the functions in its closures a few levels down."""
    first = entry.get("type") if isinstance(entry, dict) else None
    pending = [first] if isinstance(first, types.FunctionType) else []
    for _ in range(16):
        if not pending:
            break
        fn = pending.pop()
        path = fn.__code__.co_filename.replace("\\", "/")
        if path.endswith("distribute/distribute_lib.py"):
            return True
        for cell in fn.__closure__ or ():
            with contextlib.suppress(ValueError):  # an empty cell
                if isinstance(cell.cell_contents, types.FunctionType):
                    pending.append(cell.cell_contents)
    return False


def _gradient_registry() -> dict[str, Any] | None:
    if "tensorflow" not in sys.modules:
        return None
    try:
        from tensorflow.python.framework import ops

        registry = ops.gradient_registry._registry
    except (ImportError, AttributeError):  # a TensorFlow that keeps it elsewhere: leave it
        return None
    return registry if isinstance(registry, dict) else None


def limit_threads(backend: str, threads: int) -> None:
    """Cap the CPU threads of this process's math libraries (one worker of several), before
    the backend is imported."""
    n = str(max(1, threads))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):  # fmt: skip
        os.environ[var] = n
    if backend == "tensorflow":
        tf = _tensorflow()

        with contextlib.suppress(RuntimeError):  # already initialised: the env vars apply
            tf.config.threading.set_intra_op_parallelism_threads(int(n))
            tf.config.threading.set_inter_op_parallelism_threads(int(n))
    elif backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    elif backend == "torch":
        import torch

        torch.set_num_threads(int(n))
