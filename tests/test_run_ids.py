"""Run ids are how a resumed sweep finds its finished runs: a change to them orphans every run
folder users already have. These ids were computed on main before the second round's
restructuring; a change here is a breaking change and must be listed in CHANGELOG.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnlab.config import load_config
from nnlab.sweep import expand

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

PINNED = [
    pytest.param("circles.yaml", 1, "seed=0_f824e6", "seed=0_f824e6", id="circles"),
    pytest.param("pima.yaml", 1, "seed=0_45060d", "seed=0_45060d", id="pima"),
    pytest.param("mnist-mlp.yaml", 3, "seed=0_c9c7a8", "seed=2_02f591", id="mnist_repeats"),
    pytest.param(
        "circles-sweep.yaml", 12, "batch_size=16_learning_rate=0.01_seed=0_991fd9",
        "batch_size=full_learning_rate=0.001_seed=2_347130", id="grid_2_axes",
    ),
    pytest.param(
        "pima-learning-rate-search.yaml", 24, "learning_rate=0.239_seed=0_e4dee8",
        "learning_rate=0.00163_seed=2_5a0d94", id="random_search",
    ),
    pytest.param(
        "circles-small-data-regularization.yaml", 12, "none_seed=0_92e6d5",
        "early-stopping_seed=2_1c08ab", id="variants",
    ),
    pytest.param(
        "cifar10-lenet5.yaml", 6, "plain_seed=0_883878", "normalized_seed=2_511aea", id="cnn"
    ),
    pytest.param(
        "vanishing-gradients.yaml", 9, "activation=sigmoid_seed=0_532b1d",
        "activation=relu_seed=2_8fd600", id="capture",
    ),
]


@pytest.mark.parametrize(("config", "count", "first", "last"), PINNED)
def test_run_ids_of_the_shipped_configs_are_pinned(config, count, first, last):
    specs = expand(load_config(CONFIGS / config)[0])
    assert len(specs) == count
    assert (specs[0].run_id, specs[-1].run_id) == (first, last)
