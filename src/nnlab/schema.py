"""The JSON Schema of a config *file* (``nnlab schema``, ``docs/config.schema.json``), for
editors: completion, hover help and red squiggles while a config is written.

It is built from the pydantic models in ``config`` (``ExperimentConfig.model_json_schema``),
then given what pydantic cannot see: a description on every key (``DESCRIPTIONS``, unless
the field has its own ``Field(description=...)``), the names a config may use (``names``,
``config.DATASETS``, ``config.MODEL_KINDS``) as enums, the keys each dataset and model kind
reads, ``name`` as optional (it defaults to the file's stem) and the ``sweep:`` block as the
user writes it: the short form, the full form, variants, each dotted path typed as the key it
sets. ``dotted_fields`` (every dotted key, from the models' fields) is what the shell
completion offers as well.

What it cannot say, so that the loader alone reports it (the schema never accepts a file the
loader would refuse for a reason it can express, and is kept honest by tests/test_schema.py):

- a swept value's effect on the other keys: each point is validated whole by ``nnlab
  validate`` (``expansion``), the schema checks each value against its own key only;
- ``zip`` lists of equal length, ``low < high`` of a distribution, and whether the values a
  distribution draws suit its key;
- that a monitor (``early_stopping.monitor``, ``lr_schedule.monitor``) is logged with the
  chosen ``train.metrics`` (the schema takes any column some metric logs);
- the existence of files (``data.path``, builders, callbacks), and numbers that are not
  finite (YAML's ``.inf`` is refused by the loader).

It is stricter than the loader in small ways an editor should flag anyway: an optimizer or
initializer name written in another case than the config name or the Keras class name
(``ADAM``), numbers written as strings, and a key set to null where its dataset or model kind
does not read it. Importing this module imports no deep-learning backend.
"""

from __future__ import annotations

import copy
import functools
import json
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from nnlab import config, names
from nnlab.config_sweep import DISTRIBUTIONS, MODES, SWEEPABLE_SECTIONS, SweepConfig

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# where the committed copy lives, relative to the repository root
COMMITTED = Path("docs") / "config.schema.json"

# model (its $defs name) -> field -> description; a field's own Field(description=...) wins
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "ExperimentConfig": {
        "name": "The experiment's name: its folder under the output folder. Default: the "
        "config file's name without .yaml.",
        "description": "Free text, shown in the report.",
        "seed": "The seed of the first repeat; repeat k uses seed + k.",
        "repeats": "Independent runs (seeds) of each sweep point.",
        "backend": "Keras backend: auto (JAX when installed, else TensorFlow), tensorflow, "
        "jax or torch.",
        "device": "Where runs train: auto, cpu or gpu.",
        "fused": "Train runs that share a program shape as one compiled JAX program: auto, "
        "true or false.",
        "launcher": "Where runs train: local (this machine) or ray (a Ray cluster).",
        "data": "The dataset and how it is split and scaled.",
        "model": "The network: a built-in kind or your own builder.",
        "train": "How the model is trained: epochs, batches, optimizer, callbacks.",
        "sweep": "The runs to compare: dotted paths and their values (a grid), or the full "
        "form (mode, params, samples, variants).",
    },
    "DataConfig": {
        "name": "The dataset: see `nnlab datasets`.",
        "path": "A file to load instead of the download (csv: required). Relative to the "
        "config file.",
        "subset": "Use only the first N examples.",
        "validation": "The validation fraction (0 < f < 1), a count of rows (an integer >= 1), "
        "test (the official test split of mnist and cifar10), or none (train on every row: "
        "no validation columns; the training metric ranks the runs and monitors watch it).",
        "scale": "Input scaling: none, unit ([0, 1]), standard (zero mean, unit variance, "
        "from the training split) or layer (a Normalization layer in the model).",
        "n_samples": "Generated datasets: how many examples.",
        "noise": "circles and moons: the standard deviation of the noise added.",
        "factor": "circles: the inner circle's radius relative to the outer one.",
        "centers": "blobs: how many clusters (classes).",
        "cluster_std": "blobs: each cluster's standard deviation.",
        "n_features": "blobs: how many input features.",
        "random_state": "Seeds the generator and the validation split; null uses the run's seed.",
        "target": "csv: the target column, a name or an index.",
        "task": "csv and table: auto (guessed from the target), binary, multiclass or "
        "regression.",
        "x": "table: the rows, each a list of feature values.",
        "y": "table: one target per row of x.",
        "split": "How the validation rows are chosen: stratified (by class, seeded), random "
        "(scikit-learn's train_test_split with random_state) or ordered (the first rows "
        "train, the rest validate).",
    },
    "ModelConfig": {
        "kind": "mlp (dense layers), lenet5 or cnn (image data), or custom (your builder).",
        "hidden": "mlp and cnn: the units of each hidden dense layer.",
        "activation": "The hidden layers' activation (Keras name).",
        "initializer": "The hidden layers' kernel initializer: a Keras name, or {name: ..., "
        "and its arguments}.",
        "batch_norm": "Batch normalization in each hidden layer: true puts it before the "
        "activation (and drops the layer's bias), after puts it after the activation.",
        "output_activation": "The output layer's activation: auto (sigmoid for binary, "
        "softmax for multiclass, linear for regression) or a Keras activation name.",
        "dropout": "Dropout rate after each hidden layer (0 <= rate < 1).",
        "noise": "Standard deviation of Gaussian noise added after each hidden activation "
        "in training.",
        "l1": "L1 penalty on the kernels of the hidden layers (and the output's: "
        "penalize_output).",
        "l2": "L2 penalty on the kernels of the hidden layers (and the output's: "
        "penalize_output).",
        "penalize_output": "Apply l1 and l2 to the output layer's kernel too (the default); "
        "false penalizes the hidden layers only.",
        "use_bias": "Give the dense and conv layers a bias (the default; with batch_norm the "
        "hidden ones have none); false: no layer has one.",
        "builder": "custom: 'path/to/file.py:function' that returns a Keras model.",
        "filters": "cnn: the filters of each conv block (conv, batch norm, activation, pool).",
        "kernel_size": "cnn: the convolutions' kernel size.",
    },
    "InitializerSpec": {"name": "A Keras initializer (snake_case or its class name)."},
    "OptimizerSpec": {
        "name": "A Keras optimizer; its other keys are the optimizer's "
        "arguments (the learning rate is train.learning_rate)."
    },
    "TrainConfig": {
        "epochs": "How many epochs (passes over the training data).",
        "batch_size": "Examples per gradient step, or full (the whole training set).",
        "optimizer": "A Keras optimizer name, or {name: sgd, momentum: 0.9, ...}.",
        "learning_rate": "The optimizer's (initial) learning rate.",
        "loss": "A Keras loss, or auto (from the task).",
        "metrics": "Metrics logged each epoch; null: accuracy for classification, mae for "
        "regression.",
        "early_stopping": "Stop when the monitored column stops improving.",
        "lr_schedule": "How the learning rate changes: plateau, step, exponential or cosine.",
        "capture": "Per-epoch statistics to record: weights, gradients, batches.",
        "shuffle": "A new batch order every epoch (Keras fit's shuffle).",
        "save_model": "Write model.keras in the run folder: none, best or final.",
        "checkpoint_every": "Epochs between checkpoints; an interrupted run continues from "
        "its last one.",
        "callbacks": "Your own Keras callbacks: 'file.py:Class', 'package.module:Class', or "
        "{path: ..., args: {...}}.",
        "tensorboard": "Write TensorBoard event files and HParams summaries to <run>/tensorboard/.",
        "evaluate_on": "Evaluate the final model on these sets: validation, train, all (the "
        "training and validation rows together, as model.evaluate(X, y)); recorded as "
        "<set>_<metric> (all_accuracy, train_loss) in result.json, summary.csv and the report.",
    },
    "EarlyStoppingConfig": {
        "monitor": "The history column watched, e.g. val_loss or val_accuracy (with "
        "data.validation: none, a val_ monitor watches its training column).",
        "patience": "Epochs without improvement before stopping.",
        "min_delta": "The smallest change that counts as an improvement.",
        "restore_best_weights": "End with the weights of the best epoch.",
    },
    "PlateauSchedule": {
        "kind": "plateau: multiply by factor after patience epochs without improvement.",
        "monitor": "The history column watched.",
        "factor": "The learning rate is multiplied by this (0 < factor < 1).",
        "patience": "Epochs without improvement before the rate drops.",
        "min_delta": "The smallest change that counts as an improvement.",
        "min_lr": "The learning rate never drops below this.",
    },
    "StepSchedule": {
        "kind": "step: multiply by factor every `every` epochs.",
        "every": "Epochs between drops.",
        "factor": "The learning rate is multiplied by this (0 < factor < 1).",
    },
    "ExponentialSchedule": {
        "kind": "exponential: learning_rate * rate ** epoch.",
        "rate": "The factor per epoch (0 < rate < 1).",
    },
    "CosineSchedule": {
        "kind": "cosine: decay from learning_rate to min_lr over the run's epochs.",
        "min_lr": "The learning rate at the last epoch.",
    },
    "CallbackSpec": {
        "path": "'file.py:Class' (relative to the config) or 'package.module:Class'.",
        "args": "Keyword arguments the callback is made with.",
    },
}

_TEST_SPLIT = ("mnist", "cifar10")  # the datasets with an official test split
_SECTIONS = ("data", "model", "train", "sweep")
# an optimizer's or initializer's own arguments, swept as train.optimizer.momentum
_ARGUMENT_PATHS = {
    r"^train\.optimizer\.(?!learning_rate$)[A-Za-z_][A-Za-z0-9_]*$": {},
    r"^model\.initializer\.[A-Za-z_][A-Za-z0-9_]*$": {},
}
_LABEL = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"  # a variant's label (config_sweep)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field holds itself (not inside a list or a mapping)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (list, dict):
        return []
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


@functools.cache
def _fields() -> dict[str, tuple[tuple[str, str], ...]]:
    paths: dict[str, list[tuple[str, str]]] = {}

    def visit(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            path = prefix + name
            paths.setdefault(path, []).append((model.__name__, name))
            for sub in _models_in(field.annotation):
                visit(sub, f"{path}.")

    visit(config.ExperimentConfig, "")
    return {path: tuple(owners) for path, owners in paths.items()}


def dotted_fields(sweepable: bool = False) -> dict[str, tuple[tuple[str, str], ...]]:
    """Every dotted key a config has (``train.early_stopping.patience``), walked from the
    models' fields -> the (model, field) pairs it can be (``train.lr_schedule.factor`` is
    the plateau's and the step schedule's). ``sweepable``: only the paths a sweep may set."""
    found = _fields()
    if not sweepable:
        return dict(found)
    return {p: owners for p, owners in found.items()
            if p == "seed" or (p.split(".")[0] in SWEEPABLE_SECTIONS and "." in p)}  # fmt: skip


def _ref(model: str, field: str) -> dict[str, Any]:
    if model == "ExperimentConfig":
        return {"$ref": f"#/properties/{field}"}
    return {"$ref": f"#/$defs/{model}/properties/{field}"}


def _value(path: str) -> dict[str, Any]:
    refs = [_ref(*owner) for owner in _fields()[path]]
    return refs[0] if len(refs) == 1 else {"anyOf": refs}


def _string_branch(prop: dict[str, Any]) -> dict[str, Any]:
    """The part of a property's schema that is a plain string (itself, or in its anyOf)."""
    for branch in prop.get("anyOf", [prop]):
        if branch.get("type") == "string":
            return branch
    raise KeyError(f"no string in {prop}")


def _camel(snake: str) -> str:
    return "".join(part.title() for part in snake.split("_"))


def _names(snake: tuple[str, ...] | list[str]) -> list[str]:
    """Config names and the Keras class names the loader reads as them."""
    camel = [c for c in map(_camel, snake) if names.snake_case(c) in snake]
    return [*snake, *camel]


def _enums(defs: dict[str, Any]) -> None:
    model, train = defs["ModelConfig"]["properties"], defs["TrainConfig"]["properties"]
    model["activation"]["enum"] = list(names.ACTIVATIONS)
    initializers = _names(names.INITIALIZERS)
    _string_branch(model["initializer"])["enum"] = initializers
    defs["InitializerSpec"]["properties"]["name"]["enum"] = initializers
    optimizers = [*names.OPTIMIZERS, *(v for k, v in names.OPTIMIZERS.items() if v != k)]
    _string_branch(train["optimizer"])["enum"] = optimizers
    defs["OptimizerSpec"]["properties"]["name"]["enum"] = optimizers
    defs["OptimizerSpec"]["not"] = {"required": ["learning_rate"]}
    train["loss"]["enum"] = list(names.LOSSES)
    metrics = _string_branch(train["metrics"]["anyOf"][0]["items"])
    metrics["enum"] = list(names.METRICS)
    train["metrics"]["anyOf"][0]["uniqueItems"] = True
    columns = sorted(set(config.logged_keys(list(names.METRICS))))
    for owner in ("EarlyStoppingConfig", "PlateauSchedule"):
        defs[owner]["properties"]["monitor"]["enum"] = columns
    _string_branch(model["builder"])["pattern"] = r"^.+\.py:[A-Za-z_][A-Za-z0-9_]*$"
    callback = r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$"
    defs["CallbackSpec"]["properties"]["path"]["pattern"] = callback
    train["callbacks"]["items"] = {"anyOf": [{"type": "string", "pattern": callback},
                                             train["callbacks"]["items"]]}  # fmt: skip


def _is(key: str, values: list[str] | tuple[str, ...]) -> dict[str, Any]:
    return {"properties": {key: {"enum": list(values)}}, "required": [key]}


def _rules(schema: dict[str, Any], defs: dict[str, Any]) -> None:
    """The checks across keys that the models make in their validators."""
    data = list(defs["DataConfig"]["properties"])
    rules = []
    for dataset in config.DATASETS:
        then: dict[str, Any] = {"propertyNames": {"enum": [
            k for k in data if dataset in config.DATA_KEYS.get(k, (dataset,))]}}  # fmt: skip
        if dataset == "csv":
            then["required"] = ["path", "target"]
        if dataset == "table":
            then["required"] = ["x", "y"]
        if dataset not in _TEST_SPLIT:
            then["properties"] = {"validation": {"not": {"const": "test"}}}
        rules.append({"if": _is("name", [dataset]), "then": then})
    defs["DataConfig"]["allOf"] = rules
    kinds = []
    for kind, keys in config.MODEL_KEYS.items():
        then = {"propertyNames": {"enum": [k for k in defs["ModelConfig"]["properties"]
                                           if k in keys]}}  # fmt: skip
        if kind == "custom":
            then["required"] = ["builder"]
        # no kind: the default, mlp
        when = (
            _is("kind", [kind])
            if kind != "mlp"
            else {"not": _is("kind", ["lenet5", "cnn", "custom"])}
        )
        kinds.append({"if": when, "then": then})
    defs["ModelConfig"]["allOf"] = kinds
    defs["TrainConfig"]["not"] = {
        "required": ["checkpoint_every", "capture"],
        "properties": {"checkpoint_every": {"type": "integer"}, "capture": {"minItems": 1}},
    }
    images = [k for k in config.MODEL_KINDS if k in ("lenet5", "cnn")]
    schema["allOf"] = [{
        "if": {"properties": {"model": _is("kind", images)}, "required": ["model"]},
        "then": {"properties": {"data": _is("name", list(config.IMAGE_DATASETS))}},
    }]  # fmt: skip


def _axes(about: dict[str, str], random: bool) -> dict[str, Any]:
    """``{path: [values]}`` (or, in random mode, a distribution too), each value typed."""
    props = {}
    for path, text in about.items():
        values: dict[str, Any] = {"type": "array", "minItems": 1, "items": _value(path),
                                  "description": text}  # fmt: skip
        if random:
            choice = {"type": "object", "properties": {"choice": values}, "required": ["choice"],
                      "additionalProperties": False}  # fmt: skip
            values = {"anyOf": [{"$ref": f"#/$defs/SweepAxes/properties/{path}"}, choice,
                                {"$ref": "#/$defs/Distribution"}], "description": text}  # fmt: skip
        props[path] = values
    return {
        "type": "object",
        "properties": props,
        "patternProperties": {p: {"type": "array", "minItems": 1} for p in _ARGUMENT_PATHS},
        "additionalProperties": False,
    }


def _distribution() -> dict[str, Any]:
    bounds = {
        "log_uniform": {"type": "number", "exclusiveMinimum": 0},
        "uniform": {"type": "number"},
    }
    assert set(DISTRIBUTIONS) == {*bounds, "choice"}, DISTRIBUTIONS
    return {
        "description": "random mode: {log_uniform: [low, high]} or {uniform: [low, high]}, "
        "low < high (or {choice: [values]}).",
        "oneOf": [{"type": "object", "required": [kind], "additionalProperties": False,
                   "properties": {kind: {"type": "array", "minItems": 2, "maxItems": 2,
                                         "prefixItems": [low, {"type": "number"}]}}}
                  for kind, low in bounds.items()],
    }  # fmt: skip


def _sweep(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    about = {}  # each path's description: its key's
    for path, owners in dotted_fields(sweepable=True).items():
        models = [schema if m == "ExperimentConfig" else defs[m] for m, _ in owners]
        texts = [
            m["properties"][f].get("description") for m, (_, f) in zip(models, owners, strict=True)
        ]
        about[path] = " / ".join(dict.fromkeys(t for t in texts if t)) or path
    defs["SweepAxes"] = {
        "description": "Dotted path (data.*, model.*, train.* or seed) -> a list of values.",
        **_axes(about, random=False),
    }
    defs["RandomSweepAxes"] = {
        "description": "Dotted path -> a list of values or a distribution: {log_uniform: "
        "[low, high]}, {uniform: [low, high]} or {choice: [values]}.",
        **_axes(about, random=True),
    }
    defs["Distribution"] = _distribution()
    defs["VariantSettings"] = {
        "description": "Dotted path -> the value this variant gives it.",
        "type": "object",
        "properties": {p: {**_value(p), "description": t} for p, t in about.items()},
        "patternProperties": dict(_ARGUMENT_PATHS),
        "additionalProperties": False,
    }
    field = SweepConfig.model_fields
    assert set(field) == {"mode", "params", "samples", "variants"}, field
    full = {
        "type": "object",
        "description": "The full form.",
        "minProperties": 1,
        "properties": {
            "mode": {
                "enum": list(MODES),
                "default": "grid",
                "description": "grid: every "
                "combination; zip: the lists walked together; random: samples points "
                "drawn (seeded by the seed).",
            },
            "params": {
                "anyOf": [{"$ref": "#/$defs/RandomSweepAxes"}, {"type": "null"}],
                "description": "The sweep's axes: dotted path -> values.",
            },
            "samples": {
                "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
                "description": "random: how many points are drawn.",
            },
            "variants": {
                "anyOf": [
                    {
                        "type": "object",
                        "propertyNames": {"pattern": _LABEL},
                        "additionalProperties": {"$ref": "#/$defs/VariantSettings"},
                    },
                    {"type": "null"},
                ],
                "description": "label -> {dotted path: value}: named alternatives, "
                "crossed with params.",
            },
        },
        "additionalProperties": False,
        "if": _is("mode", ["random"]),
        "then": {"required": ["samples"], "properties": {"samples": {"type": "integer"}}},
        "else": {
            "properties": {
                "samples": {"type": "null"},
                "params": {"anyOf": [{"$ref": "#/$defs/SweepAxes"}, {"type": "null"}]},
            }
        },
    }
    short = {"description": "The short form: dotted path -> a list of values (a grid).",
             "$ref": "#/$defs/SweepAxes"}  # fmt: skip
    return {"anyOf": [full, short, {"type": "null"}]}


@functools.cache
def _build() -> str:
    schema = config.ExperimentConfig.model_json_schema()
    defs = schema["$defs"]
    defs.pop("SweepConfig")
    for name, model in (("ExperimentConfig", schema), *defs.items()):
        for field, prop in model.get("properties", {}).items():
            prop.pop("title", None)
            if field in DESCRIPTIONS.get(name, {}):
                prop.setdefault("description", DESCRIPTIONS[name][field])
    _enums(defs)
    _rules(schema, defs)
    sweep_description = schema["properties"]["sweep"].get("description")
    schema["properties"]["sweep"] = {"description": sweep_description, **_sweep(schema, defs)}
    schema["required"] = [k for k in schema["required"] if k != "name"]  # the file's stem
    out = {
        "$schema": DIALECT,
        "title": "nnlab experiment config",
        "description": "An nnlab experiment: `nnlab run FILE` trains every run it describes.",
        **{k: v for k, v in schema.items() if k != "title"},
    }
    return json.dumps(out, indent=2) + "\n"


@functools.cache
def _parsed() -> dict[str, Any]:
    return json.loads(_build())  # type: ignore[no-any-return]


def schema() -> dict[str, Any]:
    """The config file's JSON Schema (a fresh copy)."""
    return copy.deepcopy(_parsed())


def schema_text() -> str:
    """The schema as ``nnlab schema`` prints it and ``docs/config.schema.json`` holds it."""
    return _build()


def resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` followed (a JSON pointer into ``root``)."""
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def field_schemas(path: str) -> list[dict[str, Any]]:
    """The schemas a dotted key's value may have (one per model that has the key; shared:
    read them, do not change them)."""
    root = _parsed()
    full = root["properties"]["sweep"]["anyOf"][0]["properties"]
    return [full[field] if model == "SweepConfig" else resolve(_ref(model, field), root)
            for model, field in _fields().get(path, ())]  # fmt: skip
