"""Long-run health: a process that trains run after run keeps a flat resident set size."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "memory.py"


@pytest.mark.slow
def test_rss_stays_flat_over_100_sequential_runs():
    """100 runs of nnlab.train.run in one fresh process, as a worker does them: RSS after
    run 100 is within 1.3x of RSS after run 5 (it was 1.446 before the runs dropped their
    traced steps' gradient functions). One epoch a run keeps it near 2 minutes."""
    proc = subprocess.run(
        [sys.executable, str(BENCHMARK), "--runs", "100", "--epochs", "1"],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    out = proc.stdout
    assert "statuses: completed 100" in out, out[-3000:] + proc.stderr[-3000:]
    ratio = float(re.search(r"ratio RSS\(100\) / RSS\(5\) = \S+ / \S+ = ([0-9.]+)", out)[1])
    growth = float(re.search(r"growth from run 10 on: ([-+0-9.]+) MiB per run", out)[1])
    assert ratio <= 1.3, out
    assert growth < 1.0, out  # the leak was 4.6 MiB per run; flat is within noise of 0
    assert proc.returncode == 0, out
