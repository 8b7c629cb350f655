"""The other Keras 3 backends, when installed: a run in a fresh process (Keras picks its
backend once per process), and the message when one is missing."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nnlab import backend

from helpers import TINY


@pytest.mark.slow
@pytest.mark.parametrize("name", ["jax", "torch"])
def test_run_on_another_backend(tmp_path: Path, name: str):
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed (pip install {name})")
    config = tmp_path / "exp.yaml"
    config.write_text(yaml.safe_dump(TINY))
    out = subprocess.run(
        [sys.executable, "-m", "nnlab", "run", str(config), "--out", str(tmp_path),
         "--backend", name, "-q"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    (run_dir,) = (tmp_path / "tiny").glob("seed=0_*")
    env = json.loads((run_dir / "env.json").read_text())
    result = json.loads((run_dir / "result.json").read_text())
    assert env["backend"] == name and result["status"] == "completed"
    assert result["epochs_run"] == 3


def test_missing_backend_is_named_with_its_install_command():
    from nnlab.backend import check_installed
    from nnlab.errors import BackendError

    missing = next((b for b in ("jax", "torch") if importlib.util.find_spec(b) is None), None)
    if missing is None:
        pytest.skip("every backend is installed")
    with pytest.raises(BackendError) as info:
        check_installed(missing)
    assert info.value.problems == [
        f"backend: {missing} is not installed in this environment (pip install {missing})"
    ]


@pytest.mark.slow
def test_native_notices_during_an_import_are_held_back_unless_it_fails(capfd):
    with backend.native_stderr_muted("nnlab_no_such_module_a"):
        os.write(2, b"a notice nobody can act on\n")
    assert capfd.readouterr().err == ""
    with (
        pytest.raises(ImportError),
        backend.native_stderr_muted("nnlab_no_such_module_b"),
    ):
        os.write(2, b"why the import failed\n")
        raise ImportError("broken")
    assert capfd.readouterr().err == "why the import failed\n"  # replayed for the user
    with (
        pytest.raises(KeyboardInterrupt),
        backend.native_stderr_muted("nnlab_no_such_module_c"),
    ):
        os.write(2, b"a notice\n")
        raise KeyboardInterrupt  # Ctrl-C while it imports: stopping, not a failure to explain
    assert capfd.readouterr().err == ""
