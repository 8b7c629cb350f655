"""A Ray cluster made the way a user makes one: ``ray start --head`` and ``ray start
--address`` (loopback only), then ``nnlab run --launcher ray`` with ``RAY_ADDRESS`` set."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

# 127.0.0.2: a loopback address that Ray does not swap for the machine's own address
HOST = "127.0.0.2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_ray_start_head_and_a_worker_then_nnlab_run_with_ray_address(tmp_path: Path) -> None:
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent))
    assert ray_cli is not None
    if subprocess.run(["pgrep", "-f", "gcs_server"], capture_output=True).returncode == 0:
        pytest.skip("another Ray instance runs on this machine; `ray stop` would stop it")
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "RAY_ADDRESS")}
    env["RAY_AUTH_MODE"] = "disabled"  # a throwaway cluster on loopback: no token to hand out
    address = f"{HOST}:{free_port()}"

    def ray(*args: str) -> None:
        out = subprocess.run([ray_cli, *args], capture_output=True, text=True, env=env,
                             timeout=120)  # fmt: skip
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]

    try:
        ray("start", "--head", f"--node-ip-address={HOST}", f"--port={address.split(':')[1]}",
            "--num-cpus=0", "--include-dashboard=false", "--disable-usage-stats")  # fmt: skip
        ray("start", f"--address={address}", f"--node-ip-address={HOST}", "--num-cpus=1",
            "--disable-usage-stats")  # fmt: skip
        config = tmp_path / "c.yaml"
        config.write_text("name: c\nrepeats: 2\ndata: {name: circles, n_samples: 200}\n"
                          "model: {kind: mlp, hidden: [4]}\ntrain: {epochs: 2}\n")  # fmt: skip
        out = subprocess.run([sys.executable, "-m", "nnlab", "run", str(config), "-o",
                              str(tmp_path / "out"), "--launcher", "ray", "--no-fused", "-q"],
                             capture_output=True, text=True, timeout=600,
                             env={**env, "RAY_ADDRESS": address})  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
        runs = sorted((tmp_path / "out" / "c").glob("seed=*"))
        assert len(runs) == 2
        for run in runs:
            assert json.loads((run / "result.json").read_text())["status"] == "completed"
            worker = json.loads((run / "env.json").read_text())["worker"]
            assert (worker["launcher"], worker["node_ip"]) == ("ray", HOST)
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, env=env, timeout=120)
