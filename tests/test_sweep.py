"""Sweep expansion: a pure function from config to runs (no backend, nothing trained)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nnlab.config import ExperimentConfig, validate
from nnlab.config_document import add_sweep_axes, split_values
from nnlab.config_sweep import SweepConfig, parse_sweep
from nnlab.errors import ConfigError
from nnlab.sweep import expand, points

from helpers import TINY, merge


def specs(sweep, **changes):
    return expand(validate(merge(TINY, {"sweep": sweep, **changes})))


def errors(sweep, **changes):
    with pytest.raises(ConfigError) as info:
        specs(sweep, **changes)
    return info.value.problems


def test_short_form_is_a_grid_in_the_order_written():
    runs = specs({"train.batch_size": [16, "full"], "train.learning_rate": [0.1, 0.01]})
    assert [r.values for r in runs] == [
        {"train.batch_size": 16, "train.learning_rate": 0.1},
        {"train.batch_size": 16, "train.learning_rate": 0.01},
        {"train.batch_size": "full", "train.learning_rate": 0.1},
        {"train.batch_size": "full", "train.learning_rate": 0.01},
    ]
    assert [r.config.train.batch_size for r in runs] == [16, 16, "full", "full"]
    assert runs[0].run_id.startswith("batch_size=16_learning_rate=0.1_seed=0_")
    assert len({r.run_id for r in runs}) == 4


def test_repeats_multiply_every_point_with_seed_plus_k():
    runs = specs({"train.batch_size": [8, 16]}, seed=10, repeats=3)
    assert [(r.values["train.batch_size"], r.seed, r.repeat) for r in runs] == [
        (8, 10, 0), (8, 11, 1), (8, 12, 2), (16, 10, 0), (16, 11, 1), (16, 12, 2)
    ]  # fmt: skip
    assert all(r.config.seed == r.seed for r in runs)


def test_zip_walks_lists_together():
    runs = specs({"mode": "zip", "params": {"model.hidden": [[4], [8, 8]],
                                            "train.learning_rate": [0.1, 0.01]}})  # fmt: skip
    assert [(r.config.model.hidden, r.config.train.learning_rate) for r in runs] == [
        ([4], 0.1), ([8, 8], 0.01)
    ]  # fmt: skip
    assert runs[1].run_id.startswith("hidden=8-8_learning_rate=0.01_seed=0_")


def test_random_draws_are_seeded_and_in_range():
    sweep = {"mode": "random", "samples": 6,
             "params": {"train.learning_rate": {"log_uniform": [1e-4, 1e-1]},
                        "train.batch_size": {"choice": [16, 32, 64]},
                        "model.dropout": {"uniform": [0.0, 0.5]}}}  # fmt: skip
    a, b = specs(sweep), specs(sweep)
    assert [r.run_id for r in a] == [r.run_id for r in b]  # same config, same points
    assert len(a) == 6
    lrs = [r.config.train.learning_rate for r in a]
    assert all(1e-4 <= lr <= 1e-1 for lr in lrs) and len(set(lrs)) == 6
    assert all(lr == float(f"{lr:.3g}") for lr in lrs)  # three significant digits
    assert {r.config.train.batch_size for r in a} <= {16, 32, 64}
    assert all(0 <= r.config.model.dropout <= 0.5 for r in a)
    other = specs(sweep, seed=1)
    assert [r.config.train.learning_rate for r in other] != lrs


def test_variants_cross_the_other_axes_and_label_the_runs():
    sweep = {"params": {"train.learning_rate": [0.1, 0.01]},
             "variants": {"no-norm": {}, "batch-norm": {"model.batch_norm": True,
                                                        "data.scale": "layer"}}}  # fmt: skip
    runs = specs(sweep)
    assert [(r.values["variant"], r.values["train.learning_rate"]) for r in runs] == [
        ("no-norm", 0.1), ("no-norm", 0.01), ("batch-norm", 0.1), ("batch-norm", 0.01)
    ]  # fmt: skip
    assert [r.config.model.batch_norm for r in runs] == [False, False, True, True]
    assert runs[2].config.data.scale == "layer"
    assert runs[2].run_id.startswith("batch-norm_learning_rate=0.1_seed=0_")


def test_a_swept_seed_is_an_axis():
    runs = specs({"seed": [3, 7]}, repeats=2)
    assert [r.seed for r in runs] == [3, 4, 7, 8]


@pytest.mark.parametrize(
    "sweep,expected",
    [
        pytest.param(
            {"mode": "zip", "params": {"train.epochs": [1, 2, 3], "train.batch_size": [8, 16]}},
            [
                "sweep.params: zip needs lists of equal length; train.epochs has 3, "
                "train.batch_size has 2"
            ],
            id="zip_unequal",
        ),
        pytest.param(
            {"train.learnin_rate": [0.1]},
            [
                "train.learnin_rate: unknown key (did you mean 'learning_rate'?); valid: epochs, "
                "batch_size, optimizer, learning_rate, loss, metrics, early_stopping, lr_schedule, "
                "capture (sweep point train.learnin_rate=0.1)"
            ],
            id="unknown_path",
        ),
        pytest.param(
            {"train.batch_size": [16, "big"]},
            [
                "train.batch_size: must be an integer or 'full', got 'big' "
                "(sweep point train.batch_size=big)"
            ],
            id="wrong_type",
        ),
        pytest.param(
            {"train.learning_rate": [0.1, -1]},
            ["train.learning_rate: must be > 0, got -1 (sweep point train.learning_rate=-1)"],
            id="out_of_range",
        ),
        pytest.param(
            {"epochs": [1, 2]},
            [
                "sweep.epochs: not a sweepable path; use data.<key>, model.<key>, train.<key> "
                "or seed"
            ],
            id="not_sweepable",
        ),
        pytest.param(
            {"train.epochs": 5},
            ["sweep.train.epochs: must be a non-empty list of values, got 5"],
            id="not_a_list",
        ),
        pytest.param(
            {"mode": "random", "params": {"train.learning_rate": {"log_uniform": [0, 1]}}},
            [
                "sweep.params.train.learning_rate: log_uniform needs low > 0, got 0",
                "sweep.samples: random mode needs a number of samples >= 1, got None",
            ],
            id="random_bad",
        ),
        pytest.param(
            {"mode": "lattice", "params": {"train.epochs": [1]}},
            ["sweep.mode: must be one of grid, zip, random, got 'lattice'"],
            id="unknown_mode",
        ),
    ],
)
def test_bad_sweeps_name_the_path(sweep, expected):
    assert errors(sweep) == expected


def test_plan_axes_and_points_without_variants():
    plan = parse_sweep({"train.epochs": [1, 2]})
    assert plan.axes == ["train.epochs"]
    assert points(plan, 0) == [{"train.epochs": 1}, {"train.epochs": 2}]
    assert points(parse_sweep(None), 0) == [{}]


def test_changing_the_config_changes_every_id():
    a = specs({"train.batch_size": [8, 16]})
    b = specs({"train.batch_size": [8, 16]}, train={"epochs": 4})
    assert not {r.run_id for r in a} & {r.run_id for r in b}
    c = specs({"train.batch_size": [8, 16]}, description="renamed", device="cpu")
    assert [r.run_id for r in a] == [r.run_id for r in c]


@pytest.mark.parametrize(
    "text,parts",
    [("1,100,full", ["1", "100", "full"]), ("[8,8],[16]", ["[8,8]", "[16]"]),
     ("{log_uniform: [1e-4, 1e-1]}", ["{log_uniform: [1e-4, 1e-1]}"])],
)  # fmt: skip
def test_split_values(text, parts):
    assert split_values(text) == parts


def test_command_line_axes_join_the_config_sweep():
    doc = {"sweep": {"train.batch_size": [8, 16]}}
    add_sweep_axes(doc, ["train.learning_rate=0.1,0.01", "model.hidden=[4],[8,8]"], None)
    assert doc["sweep"] == {"params": {"train.batch_size": [8, 16],
                                       "train.learning_rate": [0.1, 0.01],
                                       "model.hidden": [[4], [8, 8]]}}  # fmt: skip
    add_sweep_axes(doc, ["train.learning_rate={log_uniform: [0.001, 0.1]}"], "random")
    assert doc["sweep"]["mode"] == "random"
    assert doc["sweep"]["params"]["train.learning_rate"] == {"log_uniform": [0.001, 0.1]}


def test_expansion_imports_no_backend():
    code = (
        "import sys; sys.path.insert(0, 'tests'); from helpers import TINY, merge;"
        "from nnlab.config import validate; from nnlab.sweep import expand;"
        "s = expand(validate(merge(TINY, {'sweep': {'train.batch_size': [1, 2]}})));"
        "print(len(s), sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "2 []", out.stderr


def test_the_sweep_block_is_typed_once_both_forms_alike():
    short = validate(merge(TINY, {"sweep": {"train.batch_size": [8, 16]}})).sweep
    full = validate(merge(TINY, {"sweep": {"params": {"train.batch_size": [8, 16]}}})).sweep
    assert isinstance(short, SweepConfig) and short == full
    assert (short.mode, short.params, short.samples, short.variants) == (
        "grid", {"train.batch_size": [8, 16]}, None, {}
    )  # fmt: skip
    assert validate(TINY).sweep is None
    labelled = parse_sweep({"variants": {1: {"seed": 3}}})
    assert labelled.variants == {"1": {"seed": 3}} and labelled.axes == ["variant"]


def test_sweep_problems_name_keys_as_the_user_spelled_them():
    assert errors({"Train.x": [1]}) == [
        "sweep.Train.x: not a sweepable path; use data.<key>, model.<key>, train.<key> or seed"
    ]
    assert errors({"params": {"seed": [1]}, "variants": {"Big Label": {}}}) == [
        "sweep.variants.Big Label: a label may hold only letters, digits, '.', '_', '+' and '-'"
    ]
    assert errors({"mode": "grid", "extra": 1}) == [
        "sweep.extra: unknown key in the full form; valid: mode, params, samples, variants"
    ]


def test_sweep_problems_come_with_the_base_config_s():
    assert errors({"epochs": [1]}, train={"learning_rate": -1}) == [
        "train.learning_rate: must be > 0, got -1",
        "sweep.epochs: not a sweepable path; use data.<key>, model.<key>, train.<key> or seed",
    ]


def test_a_sweep_that_is_not_a_mapping():
    assert errors(["train.learning_rate"]) == [
        "sweep: must be a mapping, got ['train.learning_rate']"
    ]
    with pytest.raises(ConfigError, match=r"^sweep: must be a mapping, got 'x'$"):
        parse_sweep("x")


def test_the_json_schema_has_both_forms():
    schema = ExperimentConfig.model_json_schema()["$defs"]["SweepConfig"]
    full, short = schema["anyOf"]
    assert list(full["properties"]) == ["mode", "params", "samples", "variants"]
    assert full["properties"]["mode"]["enum"] == ["grid", "zip", "random"]
    assert short["additionalProperties"]["type"] == "array"


def test_command_line_axes_leave_a_params_that_is_no_mapping_to_validation():
    doc = {"sweep": {"params": "x"}}
    add_sweep_axes(doc, ["train.learning_rate=0.1,0.01"], None)
    assert doc == {"sweep": {"params": "x"}}
    with pytest.raises(ConfigError) as info:
        validate(merge(TINY, doc))
    assert info.value.problems == ["sweep.params: must be a mapping of dotted paths, got 'x'"]
