"""Sweep expansion: a pure function from config to runs (no backend, nothing trained)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nnlab.config import ExperimentConfig, validate
from nnlab.config_document import add_sweep_axes, split_values
from nnlab.config_sweep import SweepConfig, parse_sweep
from nnlab.errors import ConfigError
from nnlab.expansion import expand, points

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
                "capture, shuffle, save_model, checkpoint_every, callbacks, tensorboard, "
                "evaluate_on (sweep point train.learnin_rate=0.1)"
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
        "from nnlab.config import validate; from nnlab.expansion import expand;"
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


# ---------------------------------------------------------------------------------------------
# sweeps of many runs: counted before they are expanded, names the file system takes

from nnlab import expansion as sweep_module  # noqa: E402
from nnlab.config_document import set_dotted  # noqa: E402
from nnlab.expansion import MAX_ID_LENGTH, MAX_RUNS, check_size, count_runs  # noqa: E402


def config_of(sweep, **changes):
    return validate(merge(TINY, {"sweep": sweep, **changes}))


@pytest.mark.parametrize(
    "sweep,changes,count",
    [
        pytest.param(None, {}, 1, id="no_sweep"),
        pytest.param(None, {"repeats": 4}, 4, id="repeats_only"),
        pytest.param({"train.batch_size": [8, 16, 32], "train.learning_rate": [0.1, 0.01]},
                     {"repeats": 2}, 12, id="grid"),
        pytest.param({"mode": "zip", "params": {"train.epochs": [1, 2, 3],
                                                "train.batch_size": [8, 16, 32]}},
                     {}, 3, id="zip"),
        pytest.param({"mode": "random", "samples": 7,
                      "params": {"train.learning_rate": {"log_uniform": [1e-4, 1e-1]}}},
                     {"repeats": 3}, 21, id="random"),
        pytest.param({"params": {"train.epochs": [1, 2]},
                      "variants": {"a": {}, "b": {"model.batch_norm": True}, "c": {}}},
                     {}, 6, id="variants"),
        pytest.param({"variants": {"a": {}, "b": {"model.batch_norm": True}}},
                     {"repeats": 2}, 4, id="variants_alone"),
    ],
)  # fmt: skip
def test_count_runs_from_the_axes_matches_the_expansion(sweep, changes, count):
    config = config_of(sweep, **changes) if sweep else validate(merge(TINY, changes))
    assert count_runs(config) == count == len(expand(config))


def test_a_huge_sweep_is_refused_before_anything_is_expanded(monkeypatch):
    values = [round(1e-5 * (i + 1), 8) for i in range(1000)]
    config = config_of({"train.learning_rate": values, "train.batch_size": list(range(1, 1001))})
    assert count_runs(config) == 1_000_000

    def no_points(*args):
        raise AssertionError("the sweep was expanded")

    monkeypatch.setattr(sweep_module, "points", no_points)
    with pytest.raises(ConfigError) as info:
        expand(config)
    assert info.value.problems == [
        "sweep: 1,000,000 runs (1000 x 1000 grid x 1 repeat) is more than --max-runs 100,000; "
        "sweep fewer values, or pass --max-runs 1000000 to run them all"
    ]
    assert MAX_RUNS == 100_000


def test_max_runs_is_the_limit_and_the_message_says_where_the_count_comes_from():
    variants = {"a": {}, "b": {"model.batch_norm": True}}
    config = config_of({"params": {"train.epochs": [1, 2, 3]}, "variants": variants}, repeats=2)
    assert len(expand(config, max_runs=12)) == 12
    assert len(expand(config, max_runs=None)) == 12
    with pytest.raises(ConfigError) as info:
        expand(config, max_runs=11)
    assert info.value.problems == [
        "sweep: 12 runs (2 variants x 3 values x 2 repeats) is more than --max-runs 11; "
        "sweep fewer values, or pass --max-runs 12 to run them all"
    ]
    with pytest.raises(ConfigError, match=r"^repeats: 5 runs \(5 repeats\) is more than"):
        check_size(validate(merge(TINY, {"repeats": 5})), 4)
    random = config_of({"mode": "random", "samples": 30,
                        "params": {"seed": {"choice": [1, 2]}}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"\(30 random samples x 1 repeat\)"):
        check_size(random, 10)


def plain_expansion(config):
    """What expand gave before it validated section by section: every point's document
    copied whole and validated whole."""
    import copy

    from nnlab.config_sweep import VARIANT

    plan = config.sweep
    base = config.model_dump(mode="json", exclude={"sweep"}, exclude_unset=True)
    base.pop("repeats", None)
    out = []
    for point in points(plan, config.seed):
        doc = copy.deepcopy(base)
        for path, value in [*plan.variants.get(point.get(VARIANT), {}).items(), *point.items()]:
            if path != VARIANT:
                set_dotted(doc, path, copy.deepcopy(value))
        first = doc.get("seed", config.seed)
        out += [validate(dict(doc, seed=first + k) if k else doc) for k in range(config.repeats)]
    return out


def test_the_resolved_configs_are_those_of_a_whole_validation():
    config = config_of(
        {"params": {"train.learning_rate": [0.1, 0.01], "data.noise": [0.05, 0.2],
                    "seed": [3, 5]},
         "variants": {"plain": {}, "sgd": {"train.optimizer": "sgd",
                                           "train.optimizer.momentum": 0.9},
                      "norm": {"model.batch_norm": True, "data.scale": "layer"}}},
        repeats=2,
    )  # fmt: skip
    specs = expand(config)
    whole = plain_expansion(config)
    assert len(specs) == len(whole) == 48
    for spec, expected in zip(specs, whole, strict=True):
        assert spec.config == expected
        assert spec.config.run_dict() == expected.run_dict()
        assert spec.config.model_fields_set == expected.model_fields_set
        for section in ("data", "model", "train"):
            got, want = getattr(spec.config, section), getattr(expected, section)
            assert got.model_fields_set == want.model_fields_set
        assert spec.run_id.endswith(sweep_module.config_hash(expected.run_dict()))


def test_a_point_that_fails_gets_the_messages_of_a_whole_validation():
    got = errors({"params": {"train.learning_rate": [0.1, -1], "model.kind": ["mlp", "cnn"]}})
    assert got == [
        "model.kind: cnn needs image data (mnist, cifar10, digits), but data.name is circles "
        "(sweep point train.learning_rate=0.1, model.kind=cnn)",
        "train.learning_rate: must be > 0, got -1 (sweep point train.learning_rate=-1, "
        "model.kind=mlp)",
        "train.learning_rate: must be > 0, got -1 (sweep point train.learning_rate=-1, "
        "model.kind=cnn)",
    ]


def test_non_finite_sweep_values_are_refused_like_base_values():
    assert errors({"train.learning_rate": [0.1, float("inf")]}) == [
        "train.learning_rate: must be a finite number, got inf "
        "(sweep point train.learning_rate=inf)"
    ]
    assert errors({"variants": {"a": {"model.dropout": float("nan")}}}) == [
        "model.dropout: must be a finite number, got nan (sweep point variant=a)"
    ]
    assert errors({"mode": "random", "samples": 2,
                   "params": {"train.learning_rate": {"uniform": [0.1, float("inf")]}}}) == [
        "sweep.params.train.learning_rate: uniform needs finite numbers, got [0.1, inf]"
    ]  # fmt: skip


def test_run_ids_of_long_swept_values_fit_a_file_name():
    axes = {f"model.initializer.{'a' * 20}{i}": ["v" * 60 + str(i), "w" * 60] for i in range(6)}
    axes["train.learning_rate"] = [0.1, 0.01]
    init = {"initializer": {"name": "random_normal"}}
    config = config_of({"params": axes, "variants": {"x" * 60: {}, "y" * 60: {}}}, model=init)
    runs = expand(config)  # the initializer arguments are checked later, by the preflight
    assert len(runs) == 2 * 2**7
    assert all(len(r.run_id.encode()) <= MAX_ID_LENGTH == 200 for r in runs)
    assert len({r.run_id for r in runs}) == len(runs)
    for r in runs:
        assert r.run_id.endswith(f"_seed=0_{sweep_module.config_hash(r.config.run_dict())}")
        assert r.run_id.startswith("x" * 4) or r.run_id.startswith("y" * 4)


def test_run_ids_under_the_limit_are_as_they_always_were():
    runs = specs({"train.learning_rate": [0.1, 0.01], "train.optimizer": ["adam", "sgd"]})
    for r in runs:
        words = "_".join(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in r.values.items())
        assert r.run_id == f"{words}_seed=0_{sweep_module.config_hash(r.config.run_dict())}"
    long_value = {"train.optimizer": [{"name": "sgd", "momentum": 0.9, "nesterov": True}]}
    (one,) = specs(long_value)
    assert one.run_id.startswith("optimizer=name-sgd-momentum-0.9-nesterov-true_seed=0_")


def test_many_axes_are_cut_to_the_limit_keeping_seed_and_hash():
    axes = {f"model.initializer.k{i:02d}": [i] for i in range(60)}
    init = {"initializer": {"name": "random_normal"}}
    (run,) = expand(config_of({"params": axes}, seed=4_000_000_000, model=init))
    assert len(run.run_id) <= MAX_ID_LENGTH
    assert run.run_id.startswith("k00=0_k01=1_")
    assert run.run_id.endswith(
        f"_seed=4000000000_{sweep_module.config_hash(run.config.run_dict())}"
    )
