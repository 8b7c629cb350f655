"""``nnlab schema``: the JSON Schema editors check a config file with. Every shipped config
passes it, the committed copy is what the command prints, and it agrees with the loader: a
file it accepts loads (and expands), and the mistakes it rejects the loader rejects too."""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from nnlab import config, names
from nnlab.cli import app
from nnlab.config import load_config
from nnlab.errors import ConfigError
from nnlab.expansion import expand
from nnlab.schema import COMMITTED, schema

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").rglob("*.yaml"))
VALIDATOR = jsonschema.Draft202012Validator(schema())
runner = CliRunner()


def accepted(doc: dict) -> bool:
    return VALIDATOR.is_valid(doc)


def loads(doc: dict) -> bool:
    """Whether nnlab reads the document: loaded, and every sweep point validated."""
    try:
        expand(load_config(copy.deepcopy(doc))[0])
    except ConfigError:
        return False
    return True


def with_(doc: dict, **sections: dict) -> dict:
    out = copy.deepcopy(doc)
    for key, value in sections.items():
        out[key] = {**out.get(key, {}), **value} if isinstance(value, dict) else value
    return out


BASE = {"name": "t", "data": {"name": "circles"}, "train": {"epochs": 2}}


def test_the_schema_is_a_json_schema_with_a_description_on_every_key():
    jsonschema.Draft202012Validator.check_schema(schema())
    s = schema()
    models = {"(top)": s, **s["$defs"]}
    missing = [f"{name}.{key}" for name, model in models.items()
               for key, prop in model.get("properties", {}).items()
               if "description" not in prop]  # fmt: skip
    assert missing == [], "describe these keys in nnlab.schema.DESCRIPTIONS (or Field(...))"


def test_the_schema_lists_the_names_a_config_may_use():
    s = schema()
    data, model = s["$defs"]["DataConfig"]["properties"], s["$defs"]["ModelConfig"]["properties"]
    train = s["$defs"]["TrainConfig"]["properties"]
    assert data["name"]["enum"] == list(config.DATASETS)
    assert model["kind"]["enum"] == list(config.MODEL_KINDS)
    assert model["activation"]["enum"] == list(names.ACTIVATIONS)
    assert set(names.INITIALIZERS) <= set(model["initializer"]["anyOf"][0]["enum"])
    assert {"sgd", "adam", "SGD", "RMSprop"} <= set(train["optimizer"]["anyOf"][0]["enum"])
    assert "name" not in s["required"]  # a file's name defaults to its stem


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_passes_the_schema_and_names_it(path):
    text = path.read_text()
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in VALIDATOR.iter_errors(yaml.safe_load(text))]  # fmt: skip
    assert errors == []
    first = text.splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix), "an editor finds the schema from the file's first line"
    assert (path.parent / first.removeprefix(prefix)).resolve() == ROOT / COMMITTED


def test_the_committed_schema_is_what_nnlab_schema_prints(tmp_path):
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    committed = (ROOT / COMMITTED).read_text()
    assert result.stdout == committed, "run `nnlab schema --out docs/config.schema.json`"
    out = tmp_path / "config.schema.json"
    written = runner.invoke(app, ["schema", "--out", str(out)])
    assert written.exit_code == 0 and out.read_text() == committed
    bad = runner.invoke(app, ["schema", "--out", str(tmp_path / "no" / "such" / "x.json")])
    assert bad.exit_code == 2 and "cannot write" in bad.output


def test_making_the_schema_imports_no_backend():
    code = (
        "import sys; from nnlab import schema; schema.schema_text(); "
        "print([m for m in ('tensorflow', 'jax', 'torch', 'keras') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "KERAS_BACKEND": ""})  # fmt: skip
    assert out.stdout.strip() == "[]"


ACCEPTED = {
    "defaults": BASE,
    "csv": {"data": {"name": "csv", "path": "x.csv", "target": "y", "task": "binary"}},
    "blobs": {
        "data": {
            "name": "blobs",
            "centers": 3,
            "cluster_std": 0.5,
            "n_features": 4,
            "n_samples": 200,
        }
    },
    "mnist_cnn": {
        "data": {"name": "mnist", "validation": "test"},
        "model": {"kind": "cnn", "filters": [8], "hidden": [16]},
    },
    "custom": {
        "data": {"name": "moons", "noise": 0.2},
        "model": {"kind": "custom", "builder": "b.py:build"},
    },
    "spelled_out": {
        "data": {"name": "circles", "factor": 0.3, "random_state": 3, "scale": "unit"},
        "model": {
            "activation": "tanh",
            "initializer": {"name": "RandomNormal", "stddev": 0.1},
            "dropout": 0.2,
            "batch_norm": True,
        },
        "train": {
            "optimizer": {"name": "SGD", "momentum": 0.9},
            "batch_size": "full",
            "loss": "binary_crossentropy",
            "metrics": ["accuracy", "auc"],
            "early_stopping": {"monitor": "val_auc", "patience": 3},
            "lr_schedule": {"kind": "step", "every": 2, "factor": 0.5},
            "callbacks": ["pkg.mod:Cb", {"path": "cb.py:Other", "args": {"k": 1}}],
            "capture": ["weights"],
        },
    },
    "short_sweep": {
        "sweep": {
            "train.optimizer": ["adam", "sgd"],
            "seed": [1, 2],
            "train.optimizer.momentum": [0.0, 0.9],
        }
    },
    "zip_sweep": {
        "sweep": {
            "mode": "zip",
            "params": {"model.hidden": [[4], [8, 8]], "train.batch_size": [16, "full"]},
        }
    },
    "random_sweep": {
        "sweep": {
            "mode": "random",
            "samples": 3,
            "params": {
                "train.learning_rate": {"log_uniform": [1e-4, 0.1]},
                "model.dropout": {"uniform": [0, 0.5]},
                "model.activation": {"choice": ["relu", "tanh"]},
                "train.epochs": [1, 2],
            },
        }
    },
    "variants": {
        "sweep": {
            "params": {"data.noise": [0.1, 0.2]},
            "variants": {
                "plain": {},
                "plateau+bn": {"train.lr_schedule": {"kind": "plateau"}, "model.batch_norm": True},
                "step": {"train.lr_schedule.kind": "step", "train.lr_schedule.every": 3},
            },
        }
    },
}


@pytest.mark.parametrize("changes", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_what_the_schema_accepts_loads(changes):
    doc = with_(BASE, **changes)
    assert accepted(doc), [e.message for e in VALIDATOR.iter_errors(doc)]
    assert loads(doc)


def test_a_file_without_a_name_passes_and_is_named_after_itself(tmp_path):
    doc = {k: v for k, v in BASE.items() if k != "name"}
    path = tmp_path / "no-name.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert accepted(doc) and load_config(path)[0].name == "no-name"


REJECTED = {
    "unknown_key": {"train": {"lerning_rate": 0.1}},
    "unknown_top_key": {"epochs": 3},
    "bad_optimizer": {"train": {"optimizer": "adamm"}},
    "bad_optimizer_spec": {"train": {"optimizer": {"name": "sgdd", "momentum": 0.9}}},
    "optimizer_learning_rate": {"train": {"optimizer": {"name": "sgd", "learning_rate": 1}}},
    "bad_dataset": {"data": {"name": "irises"}},
    "bad_activation": {"model": {"activation": "rleu"}},
    "bad_initializer": {"model": {"initializer": "glorot"}},
    "bad_loss": {"train": {"loss": "cross_entropy"}},
    "bad_metric": {"train": {"metrics": ["acc"]}},
    "twice_a_metric": {"train": {"metrics": ["mae", "mae"]}},
    "bad_monitor": {"train": {"early_stopping": {"monitor": "val_los"}}},
    "negative_rate": {"train": {"learning_rate": -0.1}},
    "bool_epochs": {"train": {"epochs": True}},
    "noise_on_blobs": {"data": {"name": "blobs", "noise": 0.1}},
    "test_split_of_circles": {"data": {"validation": "test"}},
    "csv_without_target": {"data": {"name": "csv", "path": "x.csv"}},
    "cnn_on_circles": {"model": {"kind": "cnn"}},
    "filters_on_mlp": {"model": {"filters": [8]}},
    "custom_without_builder": {"model": {"kind": "custom"}},
    "bad_builder": {"model": {"kind": "custom", "builder": "b.py"}},
    "checkpoints_with_capture": {"train": {"checkpoint_every": 2, "capture": ["weights"]}},
    "bad_schedule": {"train": {"lr_schedule": {"kind": "linear"}}},
    "sweep_unknown_path": {"sweep": {"train.lerning_rate": [0.1]}},
    "sweep_not_a_path": {"sweep": {"epochs": [1, 2]}},
    "sweep_bad_value": {"sweep": {"train.optimizer": ["adam", "adamm"]}},
    "sweep_empty_list": {"sweep": {"train.epochs": []}},
    "sweep_scalar": {"sweep": {"train.epochs": 3}},
    "sweep_mixed_forms": {"sweep": {"mode": "grid", "train.epochs": [1]}},
    "random_without_samples": {"sweep": {"mode": "random", "params": {"train.epochs": [1]}}},
    "samples_in_grid": {"sweep": {"samples": 3, "params": {"train.epochs": [1]}}},
    "distribution_in_grid": {"sweep": {"params": {"train.learning_rate":
                                                  {"log_uniform": [1e-3, 1e-1]}}}},
    "log_uniform_from_zero": {"sweep": {"mode": "random", "samples": 2, "params": {
        "train.learning_rate": {"log_uniform": [0, 0.1]}}}},
    "bad_distribution": {"sweep": {"mode": "random", "samples": 2, "params": {
        "train.learning_rate": {"normal": [0, 0.1]}}}},
    "bad_variant_label": {"sweep": {"variants": {"a b": {}}}},
    "bad_variant_value": {"sweep": {"variants": {"a": {"model.activation": "rleu"}}}},
    "bad_mode": {"sweep": {"mode": "grids", "params": {"train.epochs": [1]}}},
}  # fmt: skip


@pytest.mark.parametrize("changes", REJECTED.values(), ids=REJECTED.keys())
def test_what_the_schema_rejects_the_loader_rejects(changes):
    doc = with_(BASE, **changes)
    assert not accepted(doc)
    assert not loads(doc)


def test_the_cli_rejects_what_the_schema_rejects(tmp_path):
    path = tmp_path / "bad.yaml"
    doc = with_(BASE, train={"optimizer": "adamm"}, data={"name": "irises"})
    path.write_text(yaml.safe_dump(doc))
    assert not accepted(doc)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "unknown optimizer 'adamm'" in result.output and "irises" in result.output


# a value each key takes, for the checks of which keys a dataset or a model kind reads
DATA_VALUES = {"path": "d.csv", "subset": 10, "validation": 0.2, "scale": "unit",
               "n_samples": 100, "noise": 0.1, "factor": 0.5, "centers": 3,
               "cluster_std": 1.0, "n_features": 2, "random_state": 1, "target": "y",
               "task": "binary", "x": [[1.0], [2.0]], "y": [0.0, 1.0]}  # fmt: skip
MODEL_VALUES = {"hidden": [4], "activation": "tanh", "initializer": "he_normal",
                "batch_norm": True, "dropout": 0.1, "noise": 0.1, "l1": 0.01, "l2": 0.01,
                "builder": "b.py:build", "filters": [8], "kernel_size": 3}  # fmt: skip


def _sample(model: type, key: str, samples: dict) -> object:
    if key in samples:
        return samples[key]
    default = model.model_fields[key].get_default(call_default_factory=True)
    if default is None:
        pytest.fail(f"add a sample value of {model.__name__}.{key} to this test")
    return default


@pytest.mark.parametrize("dataset", config.DATASETS)
def test_the_schema_knows_which_keys_each_dataset_reads(dataset):
    base = {"name": dataset, **({"path": "d.csv", "target": "y"} if dataset == "csv" else {}),
            **({"x": [[1.0]], "y": [2.0]} if dataset == "table" else {})}  # fmt: skip
    for key in config.DataConfig.model_fields:
        if key == "name":
            continue
        doc = with_(BASE, data={**base, key: _sample(config.DataConfig, key, DATA_VALUES)})
        assert accepted(doc) == loads(doc), (dataset, key)


def test_the_loader_and_the_schema_read_one_table_of_data_keys():
    """config.DATA_KEYS drives both; the loader's messages for task and path stay as they were,
    and task at its default (auto) is no setting, so any dataset takes it."""
    assert config.DATA_KEYS["task"] == ("csv", "table") and "digits" not in config.DATA_KEYS["path"]
    with pytest.raises(ConfigError) as info:
        load_config(with_(BASE, data={"task": "binary", "path": "d.csv"}))
    assert str(info.value).splitlines() == [
        "data.task: only applies to csv and table, not circles",
        "data.path: circles has no file to load",
    ]
    assert loads(with_(BASE, data={"task": "auto"}))


@pytest.mark.parametrize("kind", config.MODEL_KINDS)
def test_the_schema_knows_which_keys_each_model_kind_reads(kind):
    base = {"kind": kind, **({"builder": "b.py:build"} if kind == "custom" else {})}
    for key in config.ModelConfig.model_fields:
        if key == "kind":
            continue
        value = _sample(config.ModelConfig, key, MODEL_VALUES)
        doc = with_(BASE, data={"name": "mnist"}, model={**base, key: value})
        assert accepted(doc) == loads(doc), (kind, key)


def test_generated_configs_the_schema_accepts_all_load():
    """Random configs, many of them wrong: whatever the schema accepts, nnlab loads."""
    rng = random.Random(17)
    pools = {
        ("data", "name"): [*config.DATASETS, "iris"],
        ("data", "validation"): [0.2, "test", 1.5, None],
        ("data", "noise"): [0.1, None, -1],
        ("model", "kind"): [*config.MODEL_KINDS, "rnn"],
        ("model", "activation"): ["relu", "tanh", "Relu"],
        ("model", "hidden"): [[4], [], [0], "4"],
        ("train", "optimizer"): ["adam", "Adam", "ADAM", {"name": "sgd", "momentum": 0.5}],
        ("train", "batch_size"): [8, "full", 0, "all"],
        ("train", "metrics"): [None, ["mae"], ["accuracy", "auc"], ["val_accuracy"]],
        ("sweep", "train.learning_rate"): [None, [0.1], [], 0.1],
    }
    tried = taken = 0
    for _ in range(300):
        doc = copy.deepcopy(BASE)
        for (section, key), pool in pools.items():
            if rng.random() < 0.5:
                doc.setdefault(section, {})[key] = rng.choice(pool)
        if doc.get("sweep", {}).get("train.learning_rate", 1) is None:
            doc.pop("sweep")
        doc["data"] = {k: v for k, v in doc["data"].items() if v is not None or k == "name"}
        tried += 1
        if accepted(doc):
            taken += 1
            assert loads(doc), json.dumps(doc)
    assert 15 < taken < tried
