"""The bad-input matrix: every mistake a user can type exits 2 with a message naming the key or
file (and the valid choices), and leaves the output folder exactly as it was.

Each case runs ``nnlab run CONFIG --out OUT`` against an OUT that already holds an experiment
of the same name (its experiment.yaml and a finished run), then compares OUT byte for byte;
and ``nnlab validate CONFIG``, which must refuse the same (all but the run-only options).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nnlab.cli import app

from helpers import TINY, merge

runner = CliRunner()


@dataclass
class Case:
    id: str
    expected: list[str]  # substrings of the output, in any order
    changes: dict[str, Any] | None = None  # merged into TINY
    text: str | None = None  # the config file's text instead
    files: Callable[[Path], dict[str, Any]] | None = None  # writes files, returns changes
    args: list[str] = field(default_factory=list)


def csv_file(body: str, name: str = "d.csv") -> Callable[[Path], dict[str, Any]]:
    def write(tmp: Path) -> dict[str, Any]:
        (tmp / name).write_text(body)
        return {"data": {"name": "csv", "path": str(tmp / name), "target": "y",
                         "n_samples": None, "noise": None}}  # fmt: skip

    return write


def npz_file(**arrays: Any) -> Callable[[Path], dict[str, Any]]:
    def write(tmp: Path) -> dict[str, Any]:
        np.savez(tmp / "m.npz", **arrays)
        return {"data": {"name": "mnist", "path": str(tmp / "m.npz"),
                         "n_samples": None, "noise": None}}  # fmt: skip

    return write


def raw_file(name: str, body: bytes, data: dict[str, Any]) -> Callable[[Path], dict[str, Any]]:
    def write(tmp: Path) -> dict[str, Any]:
        (tmp / name).write_bytes(body)
        return {"data": {**data, "path": str(tmp / name), "n_samples": None, "noise": None}}

    return write


def builder(source: str | None, ref: str = "b.py:build") -> Callable[[Path], dict[str, Any]]:
    def write(tmp: Path) -> dict[str, Any]:
        if source is not None:
            (tmp / "b.py").write_text(source)
        return {"model": {"kind": "custom", "builder": str(tmp / ref), "hidden": None}}

    return write


def callback(source: str | None, entry: Any = "c.py:Cb") -> Callable[[Path], dict[str, Any]]:
    def write(tmp: Path) -> dict[str, Any]:
        if source is not None:
            (tmp / "c.py").write_text(source)
        if isinstance(entry, str) and entry.startswith("c.py"):
            return {"train": {"callbacks": [str(tmp / entry)]}}
        return {"train": {"callbacks": [entry]}}

    return write


CALLBACK = "import keras\nclass Cb(keras.callbacks.Callback):\n    pass\n"

IMAGES = {"x_train": np.zeros((20, 28, 28), np.uint8), "y_train": np.arange(20) % 10,
          "x_test": np.zeros((10, 28, 28), np.uint8), "y_test": np.arange(10)}  # fmt: skip

CASES = [
    # -- the file itself --------------------------------------------------------------------
    Case("yaml_unclosed_flow", ["line", "column"], text="name: tiny\ndata: {name: circles\n"),
    Case("yaml_bad_indent", ["line", "column"], text="name: tiny\n data:\n  name: x\n"),
    Case("yaml_tab", ["line", "column"], text="name: tiny\ndata:\n\tname: circles\n"),
    Case("empty_file", ["empty"], text=""),
    Case("only_a_comment", ["empty"], text="# nothing here\n"),
    Case("a_list", ["mapping"], text="- name: tiny\n- data: {}\n"),
    Case("a_string", ["mapping"], text="just some words\n"),
    # -- unknown keys -------------------------------------------------------------------------
    Case("top_level_typo", ["reapeats", "did you mean 'repeats'"], {"reapeats": 2}),
    Case(
        "train_typo",
        ["train.learnig_rate", "did you mean 'learning_rate'"],
        {"train": {"learnig_rate": 0.1}},
    ),
    Case("model_typo", ["model.hiden", "did you mean 'hidden'"], {"model": {"hiden": [4]}}),
    Case("data_typo", ["data.nosie", "did you mean 'noise'"], {"data": {"nosie": 0.1}}),
    Case("unknown_section", ["optimizer", "unknown key"], {"optimizer": "adam"}),
    Case(
        "key_for_another_dataset",
        ["data.factor", "circles"],
        {"data": {"name": "blobs", "factor": 0.5, "noise": None}},
    ),
    # -- wrong types --------------------------------------------------------------------------
    Case("epochs_text", ["train.epochs", "integer"], {"train": {"epochs": "ten"}}),
    Case("epochs_float", ["train.epochs", "integer"], {"train": {"epochs": 2.5}}),
    Case("hidden_text", ["model.hidden"], {"model": {"hidden": "16"}}),
    Case("batch_float", ["train.batch_size"], {"train": {"batch_size": 3.5}}),
    Case("batch_word", ["train.batch_size", "full"], {"train": {"batch_size": "all"}}),
    Case(
        "validation_word",
        ["data.validation", "a row count (70), 'test' or 'none'"],
        {"data": {"validation": "half"}},
    ),
    Case("dropout_list", ["model.dropout"], {"model": {"dropout": [0.1]}}),
    Case("repeats_text", ["repeats"], {"repeats": "x"}),
    Case("metrics_string", ["train.metrics"], {"train": {"metrics": 3}}),
    Case("sweep_a_list", ["sweep"], {"sweep": ["train.learning_rate"]}),
    # -- out of range -------------------------------------------------------------------------
    Case("lr_negative", ["train.learning_rate", "> 0", "-0.1"], {"train": {"learning_rate": -0.1}}),
    Case("lr_zero", ["train.learning_rate", "> 0"], {"train": {"learning_rate": 0}}),
    Case("batch_zero", ["train.batch_size"], {"train": {"batch_size": 0}}),
    Case("epochs_zero", ["train.epochs"], {"train": {"epochs": 0}}),
    Case(  # one line naming every form, not "> 0" and ">= 1" from two forms of the union
        "validation_zero",
        ["data.validation", "a fraction of the rows (0.25)", "'none', got 0"],
        {"data": {"validation": 0}},
    ),
    Case("validation_one", ["data.validation"], {"data": {"validation": 1}}),
    Case("validation_big", ["data.validation"], {"data": {"validation": 1.5}}),
    Case("split_without_validation", ["data.split", "validation: none"],
         {"data": {"validation": "none", "split": "random"}}),
    Case("evaluate_on_unknown", ["train.evaluate_on", "valid: all, train, validation"],
         {"train": {"evaluate_on": ["test"]}}),
    Case("evaluate_on_missing_validation", ["train.evaluate_on", "valid: train, all"],
         {"data": {"validation": "none"}, "train": {"evaluate_on": ["validation"]}}),
    Case("dropout_one", ["model.dropout"], {"model": {"dropout": 1.0}}),
    Case("dropout_negative", ["model.dropout"], {"model": {"dropout": -0.1}}),
    Case("noise_negative", ["model.noise"], {"model": {"noise": -1}}),
    Case("l2_negative", ["model.l2"], {"model": {"l2": -0.01}}),
    Case("repeats_zero", ["repeats"], {"repeats": 0}),
    Case("hidden_zero_units", ["model.hidden"], {"model": {"hidden": [0]}}),
    Case("seed_negative", ["seed", ">= 0"], {"seed": -1}),
    Case("n_samples_zero", ["data.n_samples"], {"data": {"n_samples": 0}}),
    # -- unknown names ------------------------------------------------------------------------
    Case("dataset", ["data.name", "valid:", "circles"], {"data": {"name": "cifar100"}}),
    Case("model_kind", ["model.kind", "mlp"], {"model": {"kind": "resnet"}}),
    Case(
        "optimizer",
        ["train.optimizer", "did you mean 'adam'", "valid:"],
        {"train": {"optimizer": "adamm"}},
    ),
    Case(
        "activation", ["model.activation", "did you mean 'relu'"], {"model": {"activation": "rleu"}}
    ),
    Case("initializer", ["model.initializer", "valid:"], {"model": {"initializer": "glorot"}}),
    Case("loss", ["train.loss", "valid:"], {"train": {"loss": "crossentropy"}}),
    Case("metric", ["train.metrics", "valid:", "accuracy"], {"train": {"metrics": ["acc"]}}),
    Case(
        "schedule", ["train.lr_schedule", "plateau"], {"train": {"lr_schedule": {"kind": "linear"}}}
    ),
    Case(
        "monitor",
        ["train.early_stopping.monitor", "val_loss"],
        {"train": {"early_stopping": {"monitor": "val_acc"}}},
    ),
    Case("backend", ["backend", "tensorflow"], {"backend": "mxnet"}),
    Case("device", ["device", "cpu"], {"device": "tpu"}),
    Case("scale", ["data.scale", "standard"], {"data": {"scale": "minmax"}}),
    Case(
        "sweep_mode",
        ["sweep.mode", "grid"],
        {"sweep": {"mode": "spiral", "params": {"seed": [1, 2]}}},
    ),
    # -- combinations that cannot work ------------------------------------------------------
    Case("lenet5_on_points", ["lenet5", "image"], {"model": {"kind": "lenet5", "hidden": None}}),
    Case(
        "monitor_never_logged",
        ["train.early_stopping.monitor", "val_auc"],
        {"train": {"early_stopping": {"monitor": "val_auc"}}},
    ),
    Case(
        "zip_unequal",
        ["zip", "length"],
        {
            "sweep": {
                "mode": "zip",
                "params": {"train.learning_rate": [0.1, 0.01], "train.batch_size": [8, 16, 32]},
            }
        },
    ),
    Case(
        "sweep_missing_key", ["train.lerning_rate"], {"sweep": {"train.lerning_rate": [0.1, 0.01]}}
    ),
    Case(
        "sweep_bad_value",
        ["train.learning_rate", "> 0"],
        {"sweep": {"train.learning_rate": [0.1, -1]}},
    ),
    Case("sweep_outside_sections", ["sweep", "name"], {"sweep": {"name": ["a", "b"]}}),
    Case(
        "random_without_samples",
        ["samples"],
        {
            "sweep": {
                "mode": "random",
                "params": {"train.learning_rate": {"log_uniform": [1e-4, 1e-1]}},
            }
        },
    ),
    Case(
        "classification_metric_on_regression",
        ["train.metrics", "accuracy", "regression"],
        {"data": {"task": "regression"}, "train": {"metrics": ["accuracy"]}},
        files=csv_file("a,b,y\n1,2,0.5\n3,4,1.5\n5,6,2.5\n7,8,3.5\n"),
    ),
    # -- data files ---------------------------------------------------------------------------
    Case(
        "csv_missing",
        ["data.path", "nope.csv"],
        {
            "data": {
                "name": "csv",
                "path": "nope.csv",
                "target": "y",
                "n_samples": None,
                "noise": None,
            }
        },
    ),
    Case(
        "pima_path_missing",
        ["data.path", "/nonexistent/pima.csv", "file not found"],
        {"data": dict(name="pima", path="/nonexistent/pima.csv", n_samples=None, noise=None)},
    ),
    Case("n_samples_three", ["data.validation", "3 examples"], {"data": {"n_samples": 3}}),
    Case(
        "validation_leaves_one",
        ["data.validation", "0.999", "left to train on"],
        {"data": {"validation": 0.999}},
    ),
    Case(
        "sweep_point_data",
        ["data.validation", "0.999", "the 500 sweep points with data.validation=0.999"],
        {"sweep": {"data.validation": [0.25, 0.999], "train.batch_size": list(range(1, 501))}},
    ),
    Case("csv_empty", ["data.path", "empty"], files=csv_file("")),
    Case("csv_header_only", ["data.path"], files=csv_file("a,b,y\n")),
    Case("csv_ragged", ["data.path", "line 3"], files=csv_file("a,b,y\n1,2,0\n3,4\n5,6,1\n")),
    Case(
        "csv_not_numbers", ["data.path", "line 3", "'b'"], files=csv_file("a,b,y\n1,2,0\n3,x,1\n")
    ),
    Case(
        "csv_no_target", ["data.target", "'y'", "a, b, c"], files=csv_file("a,b,c\n1,2,0\n3,4,1\n")
    ),
    Case(
        "pima_wrong_columns",
        ["data.path", "5 columns, expected 9"],
        files=raw_file("p.csv", b"1,2,3,4,5\n6,7,8,9,0\n", {"name": "pima"}),
    ),
    Case(
        "pima_binary_garbage",
        ["data.path"],
        files=raw_file("p.csv", bytes(range(256)) * 4, {"name": "pima"}),
    ),
    Case(
        "npz_broken",
        ["data.path"],
        files=raw_file("m.npz", b"PK\x03\x04 not really a zip", {"name": "mnist"}),
    ),
    Case(
        "npz_missing_key",
        ["data.path", "x_test"],
        files=npz_file(x_train=IMAGES["x_train"], y_train=IMAGES["y_train"]),
    ),
    Case(
        "npz_labels_mismatch",
        ["data.path", "y_train"],
        files=npz_file(**{**IMAGES, "y_train": np.arange(7)}),
    ),
    # -- custom builders ----------------------------------------------------------------------
    Case("builder_missing_file", ["model.builder", "b.py"], files=builder(None)),
    Case(
        "builder_syntax_error",
        ["model.builder", "syntax error at line 1"],
        files=builder("def build(:\n    pass\n"),
    ),
    Case(
        "builder_not_a_model",
        ["model.builder", "keras.Model"],
        files=builder("def build(input_shape, num_outputs, output_activation):\n    return 42\n"),
    ),
    Case(
        "builder_missing_function",
        ["model.builder", "build"],
        files=builder("def make():\n    pass\n"),
    ),
    # -- the user's own callbacks ------------------------------------------------------------
    Case("callback_missing_file", ["train.callbacks.0", "file not found", "c.py"],
         files=callback(None)),
    Case("callback_syntax_error", ["train.callbacks.0", "syntax error at line 1"],
         files=callback("class Cb(:\n")),
    Case("callback_missing_class", ["train.callbacks.0", "no class 'Nope'", "Cb"],
         files=callback(CALLBACK, "c.py:Nope")),
    Case("callback_not_a_callback", ["train.callbacks.0", "not a keras.callbacks.Callback"],
         files=callback(None, "collections:OrderedDict")),
    Case("callback_bad_args", ["train.callbacks.0", "bogus"],
         files=callback(CALLBACK, {"path": "keras.callbacks:EarlyStopping",
                                   "args": {"bogus": 1}})),
    Case("callback_no_module", ["train.callbacks.0", "cannot import module 'no_such_mod'"],
         files=callback(None, "no_such_mod:Cb")),
    Case("callback_form", ["train.callbacks.0.path", "package.module:Class"],
         {"train": {"callbacks": ["just_a_name"]}}),
    Case("callback_unknown_key", ["train.callbacks.0.class", "unknown key"],
         {"train": {"callbacks": [{"class": "a:B"}]}}),
    Case("checkpoint_with_capture", ["train.checkpoint_every", "train.capture"],
         {"train": {"checkpoint_every": 5, "capture": ["weights"]}}),
    Case("save_model_choice", ["train.save_model", "best", "final"],
         {"train": {"save_model": "always"}}),
    # -- the command line ---------------------------------------------------------------------
    Case("set_without_equals", ["--set", "train.epochs"], args=["--set", "train.epochs"]),
    Case(
        "set_unknown_key", ["train.epoks", "did you mean 'epochs'"], args=["--set", "train.epoks=3"]
    ),
    Case("set_bad_value", ["train.epochs"], args=["--set", "train.epochs=-3"]),
    Case("workers_zero", ["--workers"], args=["--workers", "0"]),
    Case("backend_option", ["backend", "'theano'", "tensorflow"], args=["--backend", "theano"]),
    # -- numbers that are not finite ----------------------------------------------------------
    Case(
        "lr_inf",
        ["train.learning_rate", "finite number", "inf"],
        {"train": {"learning_rate": float("inf")}},
    ),
    Case(
        "lr_nan",
        ["train.learning_rate", "finite number", "nan"],
        {"train": {"learning_rate": float("nan")}},
    ),
    Case(
        "lr_inf_in_the_file",
        ["train.learning_rate", "finite number"],
        text="name: tiny\ndata: {name: circles}\ntrain: {learning_rate: .inf}\n",
    ),
    Case("dropout_nan", ["model.dropout", "finite number"], {"model": {"dropout": float("nan")}}),
    Case("noise_inf", ["data.noise", "finite number"], {"data": {"noise": float("inf")}}),
    Case(
        "momentum_nan",
        ["train.optimizer.momentum", "finite number"],
        {"train": {"optimizer": {"name": "sgd", "momentum": float("nan")}}},
    ),
    Case(
        "set_lr_nan",
        ["train.learning_rate", "finite number"],
        args=["--set", "train.learning_rate=.nan"],
    ),
    Case(
        "sweep_lr_inf",
        ["train.learning_rate", "finite number", "sweep point"],
        {"sweep": {"train.learning_rate": [0.1, float("inf")]}},
    ),
    Case(
        "random_bound_inf",
        ["sweep.params.train.learning_rate", "finite numbers"],
        {
            "sweep": {
                "mode": "random",
                "samples": 2,
                "params": {"train.learning_rate": {"log_uniform": [1e-4, float("inf")]}},
            }
        },
    ),
    # -- sizes: names the file system takes, sweeps that fit -------------------------------
    Case("name_too_long", ["name", "at most 100 characters"], {"name": "n" * 300}),
    Case(
        "sweep_too_large",
        ["sweep", "1,000,000 runs", "1000 x 1000 grid", "--max-runs 100,000"],
        {
            "sweep": {
                "train.learning_rate": [round(1e-5 * (i + 1), 8) for i in range(1000)],
                "train.batch_size": list(range(1, 1001)),
            }
        },
    ),
    Case(
        "max_runs_option",
        ["sweep", "4 runs (2 x 2 grid x 1 repeat)", "--max-runs 3"],
        {"sweep": {"train.learning_rate": [0.1, 0.01], "train.batch_size": [8, 16]}},
        args=["--max-runs", "3"],
    ),
    Case("max_runs_zero", ["--max-runs"], args=["--max-runs", "0"]),
]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_matrix_is_large_and_unique():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


VALIDATE_OPTIONS = {"--set", "--max-runs"}  # the others are run's alone


def takes(command: str, case: Case) -> bool:
    options = {a for a in case.args if a.startswith("--")}
    return command == "run" or options <= VALIDATE_OPTIONS


# every case through run, and through validate where it takes the case's options
COMMAND_CASES = [(command, case) for case in CASES for command in ("run", "validate")
                 if takes(command, case)]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "case"), COMMAND_CASES, ids=[f"{c.id}-{cmd}" for cmd, c in COMMAND_CASES]
)
def test_bad_input_exits_2_names_the_problem_and_changes_nothing(
    case: Case, command: str, tmp_path: Path
):
    out = tmp_path / "runs"
    exp = out / "tiny"
    (exp / "seed=0_abc123").mkdir(parents=True)
    (exp / "experiment.yaml").write_text("name: tiny\n# an earlier, finished experiment\n")
    (exp / "seed=0_abc123" / "result.json").write_text('{"status": "completed"}\n')
    before = snapshot(out)
    config = tmp_path / "config.yaml"
    if case.text is not None:
        config.write_text(case.text)
    else:
        changes = dict(case.changes or {})
        if case.files is not None:  # the files' keys first: their None drops a TINY key
            changes = merge(case.files(tmp_path), changes)
        config.write_text(yaml.safe_dump(merge(TINY, changes), sort_keys=False))
    where = ["--out", str(out)] if command == "run" else []
    result = runner.invoke(app, [command, str(config), *where, *case.args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    missing = [e for e in case.expected if e not in result.output]
    assert not missing, result.output
    assert snapshot(out) == before, "the output folder changed"


# ---------------------------------------------------------------------------------------------
# property-based: whatever document arrives, the loader answers with a ConfigError or a config

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnlab.config import ExperimentConfig, load_config, validate  # noqa: E402
from nnlab.errors import ConfigError  # noqa: E402
from nnlab.expansion import expand  # noqa: E402

KEYS = ["name", "seed", "repeats", "backend", "device", "data", "model", "train", "sweep",
        "epochs", "batch_size", "learning_rate", "optimizer", "hidden", "activation", "dropout",
        "validation", "n_samples", "noise", "kind", "mode", "params", "variants", "samples",
        "train.learning_rate", "model.hidden", "early_stopping", "lr_schedule", "monitor",
        "metrics", "initializer", "scale", "path", "capture", "log_uniform", "choice"]  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000), st.floats(allow_nan=True),
    st.sampled_from(["adam", "sgd", "relu", "circles", "full", "grid", "zip", "random", "mlp",
                     "plateau", "val_loss", "tanh", "", "1e-3", "test", "weights"]),
    st.text(max_size=8),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner,
                        max_size=5),
    ),
    max_leaves=20,
)  # fmt: skip
SECTIONS = st.fixed_dictionaries(
    {},
    optional={k: VALUES for k in ("name", "seed", "repeats", "data", "model", "train", "sweep")},
)


def _answer(call: Callable[[], ExperimentConfig]) -> None:
    """``call`` and the expansion of what it returns, as the CLI does them: a config whose
    runs all expand, or a ConfigError with one non-empty line per problem; nothing else."""
    try:
        config = call()
        assert isinstance(config, ExperimentConfig)
        assert expand(config)
    except ConfigError as e:
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.one_of(SECTIONS, VALUES))
def test_any_document_gives_a_config_error_or_a_config(doc: Any):
    base = {"name": "x", "data": {"name": "circles"}} if isinstance(doc, dict) else {}
    _answer(lambda: validate(merge(base, doc) if isinstance(doc, dict) else doc))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200))
def test_any_file_text_gives_a_config_error_or_a_config(text: str, tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    _answer(lambda: load_config(path, [])[0])
