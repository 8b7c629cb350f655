"""The config schema (pydantic, unknown keys rejected) and the functions that load it.

``load_config`` is what the CLI calls: YAML file -> ``--set`` overrides -> validated
``ExperimentConfig``. Every problem comes back as one ``ConfigError`` line that names the
dotted key, e.g. ``train.learning_rate: must be > 0, got -0.1``. Nothing here imports a
deep-learning backend.

The raw document's edits live in ``config_document``, the ``sweep:`` block's model in
``config_sweep``, and the error lines are made in ``config_errors``.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import ConfigDict, Field, ValidationError, field_validator

from nnlab import config_document as edits
from nnlab import names
from nnlab.config_base import Strict, ValidationSize, finite_arguments
from nnlab.config_errors import format_errors
from nnlab.config_sweep import SweepConfig
from nnlab.errors import ConfigError

# the names a config may use: the dataset registry (data/_registry.py) and the model builders
# (models/__init__.py) are keyed by these, and check at import that they cover them all
DATASETS = ("pima", "mnist", "cifar10", "circles", "moons", "blobs", "digits", "csv", "table")
GENERATED = ("circles", "moons", "blobs")
IMAGE_DATASETS = ("mnist", "cifar10", "digits")
MODEL_KINDS = ("mlp", "lenet5", "cnn", "custom")

_LAYER_KEYS = {"kind", "activation", "initializer", "batch_norm", "dropout", "noise", "l1", "l2",
               "penalize_output", "use_bias", "output_activation"}  # fmt: skip
# the model keys each kind reads; setting another one is an error, not silently ignored
MODEL_KEYS = {
    "mlp": _LAYER_KEYS | {"hidden"},
    "lenet5": _LAYER_KEYS,
    "cnn": _LAYER_KEYS | {"hidden", "filters", "kernel_size"},
    "custom": {"kind", "builder"},
}
# the data keys only some datasets read, and which; setting one elsewhere is an error (the
# others every dataset reads). The schema's per-dataset key lists come from here too
DATA_KEYS = {
    "n_samples": GENERATED,
    "noise": ("circles", "moons"),
    "factor": ("circles",),
    "centers": ("blobs",),
    "cluster_std": ("blobs",),
    "n_features": ("blobs",),
    "target": ("csv",),
    "task": ("csv", "table"),  # set: other than its default, auto
    "x": ("table",),
    "y": ("table",),
    "path": tuple(d for d in DATASETS if d not in (*GENERATED, "digits", "table")),  # a file
}


# an experiment's name is its output folder's name: file systems take 255 bytes, and the
# folder's temporary and suffixed siblings need room
MAX_NAME_LENGTH = 100


class DataConfig(Strict):
    name: Literal[*DATASETS]  # type: ignore[valid-type]
    path: str | None = None
    subset: Annotated[int, Field(gt=0)] | None = None
    # a fraction held out, a count of rows (validation: 70), the official test split, or none
    # (train on every row: no validation columns, the training metrics rank and are watched)
    validation: ValidationSize = 0.25
    split: Literal["stratified", "random", "ordered"] = "stratified"  # how it is held out
    scale: Literal["none", "unit", "standard", "layer"] = "standard"
    # generators (scikit-learn's parameters)
    n_samples: Annotated[int, Field(gt=0)] | None = None
    noise: Annotated[float, Field(ge=0)] | None = None
    factor: Annotated[float, Field(gt=0, lt=1)] | None = None
    centers: Annotated[int, Field(gt=0)] | None = None
    cluster_std: Annotated[float, Field(gt=0)] | None = None
    n_features: Annotated[int, Field(gt=0)] | None = None
    # seeds the generator and the validation split; null uses the run's seed
    random_state: Annotated[int, Field(ge=0, lt=2**32)] | None = None
    # csv
    target: str | int | None = None
    task: Literal["auto", "binary", "multiclass", "regression"] = "auto"
    # table: the rows written here (x: the features of each row, y: its target)
    x: list[Annotated[list[float], Field(min_length=1)]] | None = Field(None, min_length=1)
    y: list[float] | None = Field(None, min_length=1)

    @pydantic.model_validator(mode="after")
    def _keys_fit_the_dataset(self) -> DataConfig:
        problems = []
        for key, datasets in DATA_KEYS.items():
            if getattr(self, key) == DataConfig.model_fields[key].default or self.name in datasets:
                continue
            if key == "path":
                problems.append(f"path: {self.name} has no file to load")
            else:
                problems.append(f"{key}: only applies to {' and '.join(datasets)}, not {self.name}")
        if self.name == "table" and (self.x is None or self.y is None):
            problems.append("x and y: both are required for data.name table (its rows)")
        if self.name == "csv":
            if self.path is None:
                problems.append("path: required for data.name csv (the CSV file to load)")
            if self.target is None:
                problems.append("target: required for data.name csv (a column name or index)")
        if self.validation == "test" and self.name not in ("mnist", "cifar10"):
            problems.append(
                "validation: 'test' needs a dataset with an official test split "
                f"(mnist, cifar10), not {self.name}; give a fraction such as 0.25"
            )
        if self.validation == "none" and self.split != "stratified":
            problems.append(f"split: {self.split} has nothing to split with validation: none")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def held_out(self) -> bool:
        """Whether the run has a validation set (``validation`` is not ``none``)."""
        return self.validation != "none"


def _check_name(kind: str, value: str, choices: Any) -> str:
    if value not in choices:
        raise ValueError(names.unknown_name(kind, value, choices))
    return value


class InitializerSpec(Strict):
    """``{name: random_normal, stddev: 1.0}``: a Keras initializer and its arguments."""

    model_config = ConfigDict(extra="allow")
    name: str

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        return _check_name("initializer", names.snake_case(v), names.INITIALIZERS)

    @pydantic.model_validator(mode="after")
    def _finite_numbers(self) -> InitializerSpec:
        finite_arguments(self.model_extra)
        return self


class ModelConfig(Strict):
    kind: Literal[*MODEL_KINDS] = "mlp"  # type: ignore[valid-type]
    hidden: list[Annotated[int, Field(gt=0)]] = Field(default_factory=lambda: [12, 8])
    activation: str = "relu"
    initializer: str | InitializerSpec = "glorot_uniform"
    # true: BatchNormalization before each hidden activation (the layer drops its bias);
    # after: after the activation, the layer keeps its bias
    batch_norm: bool | Literal["after"] = False
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    noise: Annotated[float, Field(ge=0)] = 0.0
    l1: Annotated[float, Field(ge=0)] = 0.0
    l2: Annotated[float, Field(ge=0)] = 0.0
    penalize_output: bool = True  # l1/l2 on the output layer's kernel too (false: hidden only)
    use_bias: bool = True  # false: no layer has a bias (with batch_norm the hidden ones never do)
    output_activation: str = "auto"  # auto: sigmoid, softmax or linear, from the task
    builder: str | None = None
    # cnn: one conv block (conv, [batch norm], activation, max-pool) per entry
    filters: list[Annotated[int, Field(gt=0)]] = Field(default_factory=lambda: [32, 64])
    kernel_size: Annotated[int, Field(gt=0)] = 3

    @field_validator("activation")
    @classmethod
    def _activation(cls, v: str) -> str:
        return _check_name("activation", v, names.ACTIVATIONS)

    @field_validator("output_activation")
    @classmethod
    def _output_activation(cls, v: str) -> str:
        return v if v == "auto" else _check_name("activation", v, names.ACTIVATIONS)

    @field_validator("initializer")
    @classmethod
    def _initializer(cls, v: str | InitializerSpec) -> str | InitializerSpec:
        if isinstance(v, str):
            return _check_name("initializer", names.snake_case(v), names.INITIALIZERS)
        return v

    @field_validator("builder")
    @classmethod
    def _builder_form(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r".+\.py:[A-Za-z_]\w*", v):
            raise ValueError(f"must look like 'path/to/file.py:function', got {v!r}")
        return v

    @pydantic.model_validator(mode="after")
    def _keys_fit_the_kind(self) -> ModelConfig:
        if self.kind == "custom" and self.builder is None:
            raise ValueError("builder: required for model.kind custom ('file.py:function')")
        ignored = sorted(self.model_fields_set - MODEL_KEYS[self.kind])
        if ignored:
            raise ValueError(
                "\n".join(
                    f"{key}: does not apply to model.kind {self.kind} "
                    f"(it uses {', '.join(sorted(MODEL_KEYS[self.kind] - {'kind'}))})"
                    for key in ignored
                )
            )
        return self


class OptimizerSpec(Strict):
    """``{name: sgd, momentum: 0.9, nesterov: true}``: a Keras optimizer and its arguments."""

    model_config = ConfigDict(extra="allow")
    name: str

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        return _check_name("optimizer", v.lower(), names.OPTIMIZERS)

    @pydantic.model_validator(mode="after")
    def _no_learning_rate(self) -> OptimizerSpec:
        if "learning_rate" in (self.model_extra or {}):
            raise ValueError("learning_rate: set train.learning_rate instead")
        finite_arguments(self.model_extra)
        return self


class EarlyStoppingConfig(Strict):
    monitor: str = "val_loss"
    patience: Annotated[int, Field(ge=0)] = 10
    min_delta: Annotated[float, Field(ge=0)] = 0.0
    restore_best_weights: bool = True


class PlateauSchedule(Strict):
    """Keras ReduceLROnPlateau: multiply by ``factor`` after ``patience`` epochs without gain."""

    kind: Literal["plateau"]
    monitor: str = "val_loss"
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.1
    patience: Annotated[int, Field(ge=0)] = 5
    min_delta: Annotated[float, Field(ge=0)] = 1e-4
    min_lr: Annotated[float, Field(ge=0)] = 0.0


class StepSchedule(Strict):
    """Multiply the learning rate by ``factor`` every ``every`` epochs."""

    kind: Literal["step"]
    every: Annotated[int, Field(gt=0)] = 10
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.5


class ExponentialSchedule(Strict):
    """learning_rate * rate ** epoch."""

    kind: Literal["exponential"]
    rate: Annotated[float, Field(gt=0, lt=1)] = 0.95


class CosineSchedule(Strict):
    """Cosine decay from learning_rate to ``min_lr`` over the run's epochs."""

    kind: Literal["cosine"]
    min_lr: Annotated[float, Field(ge=0)] = 0.0


Schedule = Annotated[
    PlateauSchedule | StepSchedule | ExponentialSchedule | CosineSchedule,
    Field(discriminator="kind"),
]


DEFAULT_METRICS = {"classification": ["accuracy"], "regression": ["mae"]}


class CallbackSpec(Strict):
    """One of the user's own Keras callbacks: ``FILE.py:Class`` (relative to the config) or
    ``package.module:Class``, made with ``args`` as keyword arguments."""

    path: str
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _form(cls, v: str) -> str:
        if not re.fullmatch(r"[^:]+:[A-Za-z_]\w*", v):
            raise ValueError(f"must look like 'file.py:Class' or 'package.module:Class', got {v!r}")
        return v


def logged_keys(metrics: list[str] | dict[str, list[str]], held_out: bool = True) -> list[str]:
    """The history columns a run logs: loss and metrics, each also with ``val_`` when the run
    has a validation set. Given the task defaults (a dict), every key any task could log."""
    names_ = metrics if isinstance(metrics, list) else [m for ms in metrics.values() for m in ms]
    base = ["loss", *names_]
    return base + [f"val_{m}" for m in base] * held_out


def watched(monitor: str, held_out: bool) -> str:
    """The column a monitor (early stopping, plateau) watches: as written, or, without a
    validation set (``data.validation: none``), the training column of a ``val_`` one."""
    return monitor if held_out else monitor.removeprefix("val_")


EVALUATION_SETS = names.EVALUATION_SETS


class TrainConfig(Strict):
    epochs: Annotated[int, Field(gt=0)] = 100
    batch_size: Annotated[int, Field(gt=0)] | Literal["full"] = 32
    optimizer: str | OptimizerSpec = "adam"
    learning_rate: Annotated[float, Field(gt=0)] = 0.001
    loss: str = "auto"
    # null: accuracy for classification, mae for regression (resolved once the data is known)
    metrics: list[str] | None = None
    early_stopping: EarlyStoppingConfig | None = None
    lr_schedule: Schedule | None = None
    capture: list[Literal["weights", "gradients", "batches"]] = Field(default_factory=list)
    shuffle: bool = True  # fit's shuffle: a new batch order every epoch
    save_model: Literal["none", "best", "final"] = "none"  # model.keras in the run folder
    checkpoint_every: Annotated[int, Field(gt=0)] | None = None  # epochs between checkpoints
    callbacks: list[CallbackSpec] = Field(default_factory=list)  # the user's own
    tensorboard: bool = False  # <run>/tensorboard/: event files and HParams sessions
    # the final model evaluated on these sets (all: train + validation rows, as the sources'
    # model.evaluate(X, y)): <set>_<metric> in result.json, summary.csv and the report
    evaluate_on: list[Literal[*EVALUATION_SETS]] = Field(  # type: ignore[valid-type]
        default_factory=list)

    @field_validator("callbacks", mode="before")
    @classmethod
    def _callback_strings(cls, v: Any) -> Any:
        return [{"path": c} if isinstance(c, str) else c for c in v] if isinstance(v, list) else v

    @field_validator("optimizer")
    @classmethod
    def _optimizer(cls, v: str | OptimizerSpec) -> str | OptimizerSpec:
        if isinstance(v, str):
            return _check_name("optimizer", v.lower(), names.OPTIMIZERS)
        return v

    @field_validator("loss")
    @classmethod
    def _loss(cls, v: str) -> str:
        return _check_name("loss", v, names.LOSSES)

    @field_validator("capture", "evaluate_on")
    @classmethod
    def _once_each(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))  # each once, in the order given

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        for m in v:
            _check_name("metric", m, names.METRICS)
        if len(set(v)) != len(v):
            raise ValueError(f"lists a metric twice: {v}")
        return v

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        problems = self.unlogged_monitors()
        if self.checkpoint_every and self.capture:  # a resumed run's captures would restart
            problems.append("checkpoint_every: cannot be combined with train.capture")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def unlogged_monitors(
        self, metrics: list[str] | None = None, task: str | None = None, held_out: bool = True
    ) -> list[str]:
        """The check that each monitor (early stopping, plateau schedule) names a history
        column the run logs: one ``early_stopping.monitor: ...`` line (keys under ``train``)
        per monitor that is never logged.

        Before the data is known (``metrics`` None) a run logs ``train.metrics``, or the
        default metrics of some task; given the run's resolved ``metrics`` and its ``task``,
        exactly those, and the line names the task.
        """
        if metrics is None:
            metrics = self.metrics
        logged = sorted(set(logged_keys(metrics if metrics is not None else DEFAULT_METRICS,
                                        held_out)))  # fmt: skip
        on = f" on {task} data" if task else ""
        return [
            f"{key}.monitor: {monitor!r} is never logged{on}; valid: {', '.join(logged)}"
            for key in ("early_stopping", "lr_schedule")
            if (monitor := getattr(getattr(self, key), "monitor", None)) is not None
            and watched(monitor, held_out) not in logged
        ]


class ExperimentConfig(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=MAX_NAME_LENGTH)]
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**32 - 10_000)] = 0
    repeats: Annotated[int, Field(gt=0, le=10_000)] = 1
    # auto: JAX when it is installed, else TensorFlow, for the whole experiment; the run
    # config records the backend it resolved to (what the run id hashes)
    backend: Annotated[
        Literal["auto", "tensorflow", "jax", "torch"], Field(validate_default=True)
    ] = "auto"
    device: Literal["auto", "cpu", "gpu"] = "auto"
    # train runs that share a program shape as one compiled JAX program (``nnlab.fused``)
    fused: Literal["auto"] | bool = "auto"
    # where the runs train: local (this machine: --workers processes) or ray (a Ray cluster)
    launcher: Literal["local", "ray"] = "local"
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    sweep: SweepConfig | None = None  # the short form is read into the full form

    @field_validator("backend")
    @classmethod
    def _resolve_backend(cls, v: str) -> str:
        return default_backend() if v == "auto" else v

    @pydantic.model_validator(mode="after")
    def _model_fits_data(self) -> ExperimentConfig:
        if self.model.kind in ("lenet5", "cnn") and self.data.name not in IMAGE_DATASETS:
            raise ValueError(
                f"model.kind: {self.model.kind} needs image data "
                f"({', '.join(IMAGE_DATASETS)}), but data.name is {self.data.name}"
            )
        if not self.data.held_out and "validation" in self.train.evaluate_on:
            raise ValueError("train.evaluate_on: 'validation' needs a validation set, but "
                             "data.validation is none; valid: train, all")  # fmt: skip
        return self

    def run_dict(self) -> dict[str, Any]:
        """The resolved config as plain data, without the sweep block (what a run records)."""
        d = self.model_dump(mode="json", exclude={"sweep"})
        d.pop("repeats", None)
        return d


def default_backend() -> str:
    """What ``backend: auto`` means here: ``$KERAS_BACKEND`` when it names a backend (Keras'
    own setting), else jax when it is installed, else tensorflow (looked up, not imported)."""
    chosen = os.environ.get("KERAS_BACKEND", "")
    if chosen in ("tensorflow", "jax", "torch"):
        return chosen
    return _installed_default()


@functools.cache
def _installed_default() -> str:
    import importlib.util

    return "jax" if importlib.util.find_spec("jax") is not None else "tensorflow"


# ---------------------------------------------------------------------------------------------
# loading


def validate(doc: dict[str, Any]) -> ExperimentConfig:
    """Validate a raw mapping; every problem becomes one line of one ``ConfigError``."""
    try:
        return ExperimentConfig.model_validate(doc)
    except ValidationError as e:
        raise ConfigError(*format_errors(e, ExperimentConfig)) from None


def load_config(
    path: str | Path | dict[str, Any] | ExperimentConfig,
    overrides: list[str] | tuple[str, ...] = (),
    name: str | None = None,
    axes: list[str] | tuple[str, ...] = (),
    mode: str | None = None,
) -> tuple[ExperimentConfig, dict[str, Any]]:
    """Read, override and validate a config; returns the config and the raw document.

    ``path`` is a YAML file, or (from the Python API) a mapping with the file's content or an
    ``ExperimentConfig``; relative paths in those are relative to the working directory. The
    raw document (with overrides and command-line sweep axes applied, builder paths made
    absolute) is what ``experiment.yaml`` records. ``name`` defaults to the file's stem.
    """
    if isinstance(path, ExperimentConfig):
        doc, base = path.model_dump(mode="json", exclude_unset=True), Path.cwd()
    elif isinstance(path, dict):
        doc, base = copy.deepcopy(path), Path.cwd()
    else:
        p = Path(path)
        doc, base = copy.deepcopy(edits.read_yaml(p)), p.resolve().parent
        doc.setdefault("name", name or re.sub(r"[^A-Za-z0-9._-]", "-", p.stem))
    for item in overrides:
        key, value = edits.parse_assignment(item)
        edits.set_dotted(doc, key, value)
    edits.add_sweep_axes(doc, list(axes), mode)
    edits.absolutise_paths(doc, base)
    return validate(doc), doc
