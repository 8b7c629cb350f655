"""Fixtures of the plots tests: an experiment whose runs captured weights and gradients."""

from __future__ import annotations

from pathlib import Path

import pytest
from plot_builders import EPOCHS, SEEDS, SUMMARY_COLUMNS, long_rows, write_long

from nnlab import store


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    """6 runs (sigmoid, tanh) x 3 seeds with weights and gradients, plus a failed run and a
    run without capture files."""
    exp = tmp_path / "act"
    lines = [SUMMARY_COLUMNS + "\n"]
    for activation in ("sigmoid", "tanh"):
        for seed in SEEDS:
            rid = f"activation={activation}_seed={seed}_abc"
            write_long(exp / rid / store.GRADIENTS_FILE, long_rows(activation, seed, "gradients"))
            write_long(exp / rid / store.WEIGHTS_FILE, long_rows(activation, seed, "weights"))
            lines.append(f"{rid},{activation},{seed},completed,{EPOCHS},0.8,0.9,3,1.0,\n")
    # a failed relu run whose file must not be read, and a relu run that captured nothing
    failed = "activation=relu_seed=0_abc"
    write_long(exp / failed / store.GRADIENTS_FILE, long_rows("tanh", 0, "gradients"))
    lines.append(f"{failed},relu,0,failed,0,,,,0.1,\n")
    lines.append("activation=relu_seed=1_abc,relu,1,completed,4,0.8,0.9,3,1.0,\n")
    (exp / "activation=relu_seed=1_abc").mkdir(parents=True)
    (exp / store.SUMMARY_FILE).write_text("".join(lines))
    return exp
