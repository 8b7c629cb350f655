"""The config schema: defaults, overrides, and the exact text of every kind of error."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnlab.config import load_config, validate
from nnlab.config_document import parse_assignment, set_dotted
from nnlab.errors import ConfigError

BASE = {"name": "t", "data": {"name": "circles"}}


def with_(**sections):
    doc = {"name": "t", "data": {"name": "circles"}}
    for section, values in sections.items():
        if isinstance(values, dict):
            doc.setdefault(section, {}).update(values)
        else:
            doc[section] = values
    return doc


def problems(doc):
    with pytest.raises(ConfigError) as info:
        validate(doc)
    return info.value.problems


def test_defaults_follow_the_spec():
    cfg = validate(BASE)
    assert cfg.seed == 0 and cfg.repeats == 1 and cfg.backend == "tensorflow"
    assert cfg.device == "auto"
    assert cfg.data.validation == 0.25 and cfg.data.scale == "standard"
    assert cfg.model.kind == "mlp" and cfg.model.hidden == [12, 8]
    assert cfg.model.activation == "relu" and cfg.model.initializer == "glorot_uniform"
    assert cfg.train.epochs == 100 and cfg.train.batch_size == 32
    assert cfg.train.optimizer == "adam" and cfg.train.learning_rate == 0.001
    assert cfg.train.metrics is None  # accuracy on classification data, mae on regression
    assert cfg.train.capture == []


def test_capture_kinds_are_kept_once_in_order():
    cfg = validate(with_(train={"capture": ["gradients", "weights", "gradients"]}))
    assert cfg.train.capture == ["gradients", "weights"]


@pytest.mark.parametrize(
    "doc,expected",
    [
        pytest.param(
            with_(train={"learning_rate": -0.1}),
            ["train.learning_rate: must be > 0, got -0.1"],
            id="negative_lr",
        ),
        pytest.param(
            with_(train={"learning_rate": 0}),
            ["train.learning_rate: must be > 0, got 0"],
            id="zero_lr",
        ),
        pytest.param(
            with_(train={"batch_size": 0}), ["train.batch_size: must be > 0, got 0"], id="batch_0"
        ),
        pytest.param(
            with_(train={"batch_size": "half"}),
            ["train.batch_size: must be an integer or 'full', got 'half'"],
            id="batch_word",
        ),
        pytest.param(
            with_(train={"epochs": "ten"}),
            ["train.epochs: must be an integer, got 'ten'"],
            id="epochs_type",
        ),
        pytest.param(
            with_(train={"epochs": 0}), ["train.epochs: must be > 0, got 0"], id="epochs_0"
        ),
        pytest.param(
            with_(model={"dropout": 1.0}), ["model.dropout: must be < 1, got 1.0"], id="dropout_1"
        ),
        pytest.param(
            with_(data={"validation": 1.5}),
            [
                "data.validation: must be a fraction of the rows (0.25), a row count (70), "
                "'test' or 'none', got 1.5"
            ],
            id="validation_range",
        ),
        pytest.param(
            with_(trian={}),
            [
                "trian: unknown key (did you mean 'train'?); valid: name, description, seed, "
                "repeats, backend, device, fused, launcher, data, model, train, sweep"
            ],
            id="unknown_top_key",
        ),
        pytest.param(
            with_(train={"learning_rte": 0.1}),
            [
                "train.learning_rte: unknown key (did you mean 'learning_rate'?); valid: epochs, "
                "batch_size, optimizer, learning_rate, loss, metrics, early_stopping, "
                "lr_schedule, capture, shuffle, save_model, checkpoint_every, callbacks, "
                "tensorboard, evaluate_on"
            ],
            id="unknown_nested_key",
        ),
        pytest.param(
            with_(train={"capture": ["weight", "gradients"]}),
            [
                "train.capture.0: unknown value 'weight' (did you mean 'weights'?); "
                "valid: batches, gradients, weights"
            ],
            id="unknown_capture",
        ),
        pytest.param(
            with_(train={"capture": "weights"}),
            ["train.capture: must be a list, got 'weights'"],
            id="capture_not_a_list",
        ),
        pytest.param(
            with_(data={"name": "circle"}),
            [
                "data.name: unknown value 'circle' (did you mean 'circles'?); valid: blobs, "
                "cifar10, circles, csv, digits, mnist, moons, pima, table"
            ],
            id="unknown_dataset",
        ),
        pytest.param(
            with_(train={"optimizer": "adamm"}),
            [
                "train.optimizer: unknown optimizer 'adamm' (did you mean 'adam'?); valid: "
                "adadelta, adafactor, adagrad, adam, adamax, adamw, ftrl, lamb, lion, nadam, "
                "rmsprop, sgd"
            ],
            id="unknown_optimizer",
        ),
        pytest.param(
            with_(model={"activation": "rellu"}),
            [
                "model.activation: unknown activation 'rellu' (did you mean 'relu'?); valid: "
                "celu, elu, exponential, gelu, hard_sigmoid, hard_silu, hard_swish, hard_tanh, "
                "leaky_relu, linear, log_sigmoid, mish, relu, relu6, selu, sigmoid, silu, "
                "softmax, softplus, softsign, sparse_plus, squareplus, swish, tanh, tanh_shrink"
            ],
            id="unknown_activation",
        ),
        pytest.param(
            with_(model={"initializer": {"name": "RandomNorml", "stddev": 1}}),
            [
                "model.initializer.name: unknown initializer 'random_norml' (did you mean "
                "'random_normal'?); valid: constant, glorot_normal, glorot_uniform, he_normal, "
                "he_uniform, identity, lecun_normal, lecun_uniform, ones, orthogonal, "
                "random_normal, random_uniform, truncated_normal, variance_scaling, zeros"
            ],
            id="unknown_initializer_in_mapping",
        ),
        pytest.param(
            with_(train={"loss": "crossentropy"}),
            [
                "train.loss: unknown loss 'crossentropy' (did you mean 'binary_crossentropy'?); "
                "valid: auto, binary_crossentropy, binary_focal_crossentropy, "
                "categorical_crossentropy, categorical_hinge, hinge, huber, kl_divergence, "
                "log_cosh, mae, mean_absolute_error, mean_squared_error, mse, poisson, "
                "sparse_categorical_crossentropy, squared_hinge"
            ],
            id="unknown_loss",
        ),
        pytest.param(
            with_(train={"lr_schedule": {"kind": "plateu"}}),
            [
                "train.lr_schedule: kind must be one of 'plateau', 'step', 'exponential', "
                "'cosine', got 'plateu'"
            ],
            id="unknown_schedule",
        ),
        pytest.param(
            with_(train={"early_stopping": {"monitor": "val_acc"}}),
            [
                "train.early_stopping.monitor: 'val_acc' is never logged; valid: accuracy, loss, "
                "mae, val_accuracy, val_loss, val_mae"
            ],
            id="monitor_never_logged",
        ),
        pytest.param(
            with_(train={"optimizer": {"name": "sgd", "learning_rate": 1}}),
            ["train.optimizer.learning_rate: set train.learning_rate instead"],
            id="lr_inside_optimizer",
        ),
        pytest.param(
            with_(model={"kind": "lenet5"}),
            [
                "model.kind: lenet5 needs image data (mnist, cifar10, digits), but data.name is "
                "circles"
            ],
            id="lenet5_on_tabular",
        ),
        pytest.param(
            with_(model={"kind": "custom", "builder": "models.py"}),
            ["model.builder: must look like 'path/to/file.py:function', got 'models.py'"],
            id="builder_form",
        ),
        pytest.param(
            with_(model={"kind": "custom"}),
            ["model.builder: required for model.kind custom ('file.py:function')"],
            id="builder_missing",
        ),
        pytest.param(
            {"name": "t", "data": {"name": "pima", "factor": 0.5, "validation": "test"}},
            [
                "data.factor: only applies to circles, not pima",
                "data.validation: 'test' needs a dataset with an official test split "
                "(mnist, cifar10), not pima; give a fraction such as 0.25",
            ],
            id="keys_of_other_datasets",
        ),
        pytest.param(
            {"name": "t", "data": {"name": "csv"}},
            [
                "data.path: required for data.name csv (the CSV file to load)",
                "data.target: required for data.name csv (a column name or index)",
            ],
            id="csv_needs_path_and_target",
        ),
        pytest.param({"name": "t"}, ["data: required"], id="no_data"),
        pytest.param(
            {"name": "a b", "data": {"name": "circles"}},
            ["name: must contain only letters, digits, '.', '_' and '-', got 'a b'"],
            id="bad_name",
        ),
    ],
)
def test_config_errors(doc, expected):
    assert problems(doc) == expected


def test_every_problem_is_reported_at_once():
    got = problems(with_(train={"learning_rate": -1, "optimizer": "adamm", "epochs": 0}))
    assert [p.split(":")[0] for p in got] == [
        "train.epochs",
        "train.optimizer",
        "train.learning_rate",
    ]


def test_initializer_and_optimizer_mappings():
    cfg = validate(
        with_(
            model={"initializer": {"name": "RandomNormal", "stddev": 1.0}},
            train={"optimizer": {"name": "SGD", "momentum": 0.9, "nesterov": True}},
        )
    )
    assert cfg.model.initializer.name == "random_normal"
    assert cfg.model.initializer.model_extra == {"stddev": 1.0}
    assert cfg.train.optimizer.name == "sgd"
    assert cfg.train.optimizer.model_extra == {"momentum": 0.9, "nesterov": True}


@pytest.mark.parametrize(
    "text,key,value",
    [
        ("train.learning_rate=0.01", "train.learning_rate", 0.01),
        ("train.batch_size=full", "train.batch_size", "full"),
        ("model.hidden=[8, 8]", "model.hidden", [8, 8]),
        ("model.batch_norm=true", "model.batch_norm", True),
        ("train.early_stopping=null", "train.early_stopping", None),
    ],
)
def test_parse_assignment_reads_yaml_scalars(text, key, value):
    assert parse_assignment(text) == (key, value)


def test_parse_assignment_needs_equals():
    with pytest.raises(ConfigError, match=r"--set 'train.lr': expected KEY=VALUE"):
        parse_assignment("train.lr")


def test_set_dotted_widens_a_name_to_a_mapping():
    doc = {"train": {"optimizer": "sgd"}}
    set_dotted(doc, "train.optimizer.momentum", 0.9)
    assert doc == {"train": {"optimizer": {"name": "sgd", "momentum": 0.9}}}


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_config_overrides_and_names_after_file(tmp_path):
    p = write(tmp_path, "data: {name: circles}\ntrain: {epochs: 5}\n", "my-exp.yaml")
    cfg, doc = load_config(p, ["train.epochs=7", "model.hidden=[4]"])
    assert cfg.name == "my-exp" and cfg.train.epochs == 7 and cfg.model.hidden == [4]
    assert doc["train"]["epochs"] == 7


def test_override_is_validated_like_the_file(tmp_path):
    p = write(tmp_path, "data: {name: circles}\n")
    with pytest.raises(ConfigError) as info:
        load_config(p, ["train.learning_rate=-0.1"])
    assert info.value.problems == ["train.learning_rate: must be > 0, got -0.1"]


@pytest.mark.parametrize(
    "text,expected",
    [
        pytest.param("", "the config file is empty", id="empty"),
        pytest.param("- 1\n- 2\n", "a config must be a mapping of keys, got a list", id="list"),
        pytest.param(
            "data:\n  name: circles\n  noise: [0.1\n",
            "YAML syntax error at line 4, column 1:",
            id="syntax",
        ),
    ],
)
def test_unreadable_files(tmp_path, text, expected):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.problems[0].startswith(f"{p}: {expected}")


def test_relative_paths_are_relative_to_the_config(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "build.py").write_text("def make(): pass\n")
    p = write(
        tmp_path / "sub", "data: {name: circles}\nmodel: {kind: custom, builder: build.py:make}\n"
    )
    cfg, _ = load_config(p)
    assert cfg.model.builder == f"{tmp_path / 'sub' / 'build.py'}:make"


# ---------------------------------------------------------------------------------------------
# numbers are finite; the experiment's name fits a folder name

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize(
    "doc,expected",
    [
        pytest.param(with_(train={"learning_rate": INF}),
                     "train.learning_rate: must be a finite number, got inf", id="lr_inf"),
        pytest.param(with_(train={"learning_rate": NAN}),
                     "train.learning_rate: must be a finite number, got nan", id="lr_nan"),
        pytest.param(with_(model={"dropout": NAN}),
                     "model.dropout: must be a finite number, got nan", id="dropout_nan"),
        pytest.param(with_(model={"l2": INF}), "model.l2: must be a finite number, got inf",
                     id="l2_inf"),
        pytest.param(with_(data={"noise": -INF}),
                     "data.noise: must be a finite number, got -inf", id="noise_minus_inf"),
        pytest.param(with_(data={"validation": NAN}),
                     "data.validation: must be a finite number, got nan", id="validation_nan"),
        pytest.param(with_(train={"early_stopping": {"min_delta": INF}}),
                     "train.early_stopping.min_delta: must be a finite number, got inf",
                     id="min_delta_inf"),
        pytest.param(with_(train={"lr_schedule": {"kind": "plateau", "factor": NAN}}),
                     "train.lr_schedule.factor: must be a finite number, got nan",
                     id="schedule_nan"),
        pytest.param(with_(train={"optimizer": {"name": "sgd", "momentum": NAN}}),
                     "train.optimizer.momentum: must be a finite number, got nan",
                     id="optimizer_argument_nan"),
        pytest.param(with_(model={"initializer": {"name": "random_normal", "stddev": INF}}),
                     "model.initializer.stddev: must be a finite number, got inf",
                     id="initializer_argument_inf"),
    ],
)  # fmt: skip
def test_non_finite_numbers_are_refused_naming_the_key(doc, expected):
    assert problems(doc) == [expected]


def test_non_finite_numbers_are_refused_from_yaml_and_set(tmp_path):
    p = write(tmp_path, "data: {name: circles}\ntrain: {learning_rate: .inf}\n")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert info.value.problems == ["train.learning_rate: must be a finite number, got inf"]
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "data: {name: circles}\n"), ["model.noise=.nan"])
    assert info.value.problems == ["model.noise: must be a finite number, got nan"]


def test_finite_optimizer_arguments_still_pass():
    cfg = validate(with_(train={"optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True}}))
    assert cfg.train.optimizer.model_extra == {"momentum": 0.9, "nesterov": True}


def test_a_name_longer_than_a_folder_name_may_be_is_refused(tmp_path):
    from nnlab.config import MAX_NAME_LENGTH

    assert MAX_NAME_LENGTH == 100
    assert validate(with_(name="n" * 100)).name == "n" * 100
    assert problems(with_(name="n" * 300)) == [
        "name: must be at most 100 characters (it names a folder), got 300"
    ]
    long_file = write(tmp_path, "data: {name: circles}\n", "x" * 120 + ".yaml")
    with pytest.raises(ConfigError) as info:
        load_config(long_file)  # the name defaults to the file's stem
    assert info.value.problems == [
        "name: must be at most 100 characters (it names a folder), got 120"
    ]
