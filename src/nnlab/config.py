"""The config schema (pydantic, unknown keys rejected) and the functions that load it.

``load_config`` is what the CLI calls: YAML file -> ``--set`` overrides -> validated
``ExperimentConfig``. Every problem comes back as one ``ConfigError`` line that names the
dotted key, e.g. ``train.learning_rate: must be > 0, got -0.1``. Nothing here imports a
deep-learning backend.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from nnlab import names
from nnlab.errors import ConfigError

DATASETS = ("pima", "mnist", "cifar10", "circles", "moons", "blobs", "digits", "csv")
GENERATED = ("circles", "moons", "blobs")
IMAGE_DATASETS = ("mnist", "cifar10", "digits")
MODEL_KINDS = ("mlp", "lenet5", "cnn", "custom")

_LAYER_KEYS = {"kind", "activation", "initializer", "batch_norm", "dropout", "noise", "l1", "l2"}
# the model keys each kind reads; setting another one is an error, not silently ignored
MODEL_KEYS = {
    "mlp": _LAYER_KEYS | {"hidden"},
    "lenet5": _LAYER_KEYS,
    "cnn": _LAYER_KEYS | {"hidden", "filters", "kernel_size"},
    "custom": {"kind", "builder"},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        """YAML's ``yes``/``true`` is not a number: pydantic would read it as 1."""
        if isinstance(data, dict):
            bad = [
                f"{k}: must be a number, got {v!r}"
                for k, v in data.items()
                if isinstance(v, bool) and k in cls.model_fields and _numeric(cls, k)
            ]
            if bad:
                raise ValueError("\n".join(bad))
        return data


def _numeric(model: type[BaseModel], key: str) -> bool:
    text = str(model.model_fields[key].annotation)
    return ("int" in text or "float" in text) and "bool" not in text


class DataConfig(_Strict):
    name: Literal["pima", "mnist", "cifar10", "circles", "moons", "blobs", "digits", "csv"]
    path: str | None = None
    subset: Annotated[int, Field(gt=0)] | None = None
    validation: Annotated[float, Field(gt=0, lt=1)] | Literal["test"] = 0.25
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

    @model_validator(mode="after")
    def _keys_fit_the_dataset(self) -> DataConfig:
        problems = []
        own = {
            "n_samples": GENERATED,
            "noise": ("circles", "moons"),
            "factor": ("circles",),
            "centers": ("blobs",),
            "cluster_std": ("blobs",),
            "n_features": ("blobs",),
            "target": ("csv",),
        }
        for key, datasets in own.items():
            if getattr(self, key) is not None and self.name not in datasets:
                problems.append(f"{key}: only applies to {' and '.join(datasets)}, not {self.name}")
        if self.task != "auto" and self.name != "csv":
            problems.append(f"task: only applies to csv, not {self.name}")
        if self.name == "csv":
            if self.path is None:
                problems.append("path: required for data.name csv (the CSV file to load)")
            if self.target is None:
                problems.append("target: required for data.name csv (a column name or index)")
        if self.path is not None and self.name in (*GENERATED, "digits"):
            problems.append(f"path: {self.name} is generated, it has no file to load")
        if self.validation == "test" and self.name not in ("mnist", "cifar10"):
            problems.append(
                "validation: 'test' needs a dataset with an official test split "
                f"(mnist, cifar10), not {self.name}; give a fraction such as 0.25"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _check_name(kind: str, value: str, choices: Any) -> str:
    if value not in choices:
        raise ValueError(names.unknown_name(kind, value, choices))
    return value


class InitializerSpec(_Strict):
    """``{name: random_normal, stddev: 1.0}``: a Keras initializer and its arguments."""

    model_config = ConfigDict(extra="allow")
    name: str

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        return _check_name("initializer", names.snake_case(v), names.INITIALIZERS)


class ModelConfig(_Strict):
    kind: Literal["mlp", "lenet5", "cnn", "custom"] = "mlp"
    hidden: list[Annotated[int, Field(gt=0)]] = Field(default_factory=lambda: [12, 8])
    activation: str = "relu"
    initializer: str | InitializerSpec = "glorot_uniform"
    batch_norm: bool = False
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    noise: Annotated[float, Field(ge=0)] = 0.0
    l1: Annotated[float, Field(ge=0)] = 0.0
    l2: Annotated[float, Field(ge=0)] = 0.0
    builder: str | None = None
    # cnn: one conv block (conv, [batch norm], activation, max-pool) per entry
    filters: list[Annotated[int, Field(gt=0)]] = Field(default_factory=lambda: [32, 64])
    kernel_size: Annotated[int, Field(gt=0)] = 3

    @field_validator("activation")
    @classmethod
    def _activation(cls, v: str) -> str:
        return _check_name("activation", v, names.ACTIVATIONS)

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

    @model_validator(mode="after")
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


class OptimizerSpec(_Strict):
    """``{name: sgd, momentum: 0.9, nesterov: true}``: a Keras optimizer and its arguments."""

    model_config = ConfigDict(extra="allow")
    name: str

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        return _check_name("optimizer", v.lower(), names.OPTIMIZERS)

    @model_validator(mode="after")
    def _no_learning_rate(self) -> OptimizerSpec:
        if "learning_rate" in (self.model_extra or {}):
            raise ValueError("learning_rate: set train.learning_rate instead")
        return self


class EarlyStoppingConfig(_Strict):
    monitor: str = "val_loss"
    patience: Annotated[int, Field(ge=0)] = 10
    min_delta: Annotated[float, Field(ge=0)] = 0.0
    restore_best_weights: bool = True


class PlateauSchedule(_Strict):
    """Keras ReduceLROnPlateau: multiply by ``factor`` after ``patience`` epochs without gain."""

    kind: Literal["plateau"]
    monitor: str = "val_loss"
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.1
    patience: Annotated[int, Field(ge=0)] = 5
    min_delta: Annotated[float, Field(ge=0)] = 1e-4
    min_lr: Annotated[float, Field(ge=0)] = 0.0


class StepSchedule(_Strict):
    """Multiply the learning rate by ``factor`` every ``every`` epochs."""

    kind: Literal["step"]
    every: Annotated[int, Field(gt=0)] = 10
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.5


class ExponentialSchedule(_Strict):
    """learning_rate * rate ** epoch."""

    kind: Literal["exponential"]
    rate: Annotated[float, Field(gt=0, lt=1)] = 0.95


class CosineSchedule(_Strict):
    """Cosine decay from learning_rate to ``min_lr`` over the run's epochs."""

    kind: Literal["cosine"]
    min_lr: Annotated[float, Field(ge=0)] = 0.0


Schedule = Annotated[
    PlateauSchedule | StepSchedule | ExponentialSchedule | CosineSchedule,
    Field(discriminator="kind"),
]


DEFAULT_METRICS = {"classification": ["accuracy"], "regression": ["mae"]}


def logged_keys(metrics: list[str] | dict[str, list[str]]) -> list[str]:
    """The history columns a run logs: loss and metrics, each also with ``val_``. Given the
    task defaults (a dict), every key any task could log."""
    names_ = metrics if isinstance(metrics, list) else [m for ms in metrics.values() for m in ms]
    base = ["loss", *names_]
    return base + [f"val_{m}" for m in base]


class TrainConfig(_Strict):
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

    @field_validator("capture")
    @classmethod
    def _capture(cls, v: list[str]) -> list[str]:
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

    @model_validator(mode="after")
    def _monitors_are_logged(self) -> TrainConfig:
        logged = set(logged_keys(self.metrics if self.metrics is not None else DEFAULT_METRICS))
        for key, block in (
            ("early_stopping", self.early_stopping),
            ("lr_schedule", self.lr_schedule),
        ):
            monitor = getattr(block, "monitor", None)
            if monitor is not None and monitor not in logged:
                raise ValueError(
                    f"{key}.monitor: {monitor!r} is never logged; "
                    f"valid: {', '.join(sorted(logged))}"
                )
        return self


class ExperimentConfig(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**32 - 10_000)] = 0
    repeats: Annotated[int, Field(gt=0, le=10_000)] = 1
    backend: Literal["tensorflow", "jax", "torch"] = "tensorflow"
    device: Literal["auto", "cpu", "gpu"] = "auto"
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    sweep: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _model_fits_data(self) -> ExperimentConfig:
        if self.model.kind in ("lenet5", "cnn") and self.data.name not in IMAGE_DATASETS:
            raise ValueError(
                f"model.kind: {self.model.kind} needs image data "
                f"({', '.join(IMAGE_DATASETS)}), but data.name is {self.data.name}"
            )
        return self

    def run_dict(self) -> dict[str, Any]:
        """The resolved config as plain data, without the sweep block (what a run records)."""
        d = self.model_dump(mode="json", exclude={"sweep"})
        d.pop("repeats", None)
        return d


# ---------------------------------------------------------------------------------------------
# loading


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a config file into a mapping; syntax errors name the file, line and column."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read the config file ({e})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{p}: YAML syntax error at {where}{problem}") from None
    if doc is None:
        raise ConfigError(f"{p}: the config file is empty")
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: a config must be a mapping of keys, got a {type(doc).__name__}")
    return doc


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"train.learning_rate=0.01"`` -> ``("train.learning_rate", 0.01)``; values parse as YAML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. train.learning_rate=0.01")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key, value


def set_dotted(doc: dict[str, Any], key: str, value: Any) -> None:
    """Set ``doc["train"]["learning_rate"]`` from ``"train.learning_rate"``, creating mappings."""
    parts = key.split(".")
    node = doc
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif isinstance(child, str) and i == len(parts) - 2:
            # train.optimizer=sgd then train.optimizer.momentum=0.9: widen the name to a mapping
            child = node[part] = {"name": child}
        elif not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(parts[: i + 1])}: is a value, cannot set {key}")
        node = child
    node[parts[-1]] = value


def split_values(text: str) -> list[str]:
    """``"1,100,full"`` -> ``["1", "100", "full"]``; commas inside [] or {} do not split."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [*parts, current]


def add_sweep_axes(doc: dict[str, Any], axes: list[str], mode: str | None) -> None:
    """Merge ``nnlab sweep -p KEY=V1,V2`` axes (and ``--mode``) into the doc's sweep block.

    Each value parses as YAML; a single ``{log_uniform: [lo, hi]}`` is a distribution for
    random mode. A command-line axis replaces the config's axis of the same path.
    """
    if not axes and mode is None:
        return
    block = doc.get("sweep") or {}
    if not isinstance(block, dict):
        raise ConfigError(f"sweep: must be a mapping, got {type(block).__name__}")
    full = {"mode", "params", "samples", "variants"}
    block = dict(block) if full & set(block) else {"params": dict(block)} if block else {}
    params = dict(block.get("params") or {})
    for item in axes:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise ConfigError(f"-p {item!r}: expected KEY=V1,V2,..., e.g. train.batch_size=16,32")
        values = [parse_assignment(f"x={v.strip()}")[1] for v in split_values(raw)]
        params[key.strip()] = (
            values[0] if len(values) == 1 and isinstance(values[0], dict) else (values)
        )
    block["params"] = params
    if mode is not None:
        block["mode"] = mode
    doc["sweep"] = block


def validate(doc: dict[str, Any]) -> ExperimentConfig:
    """Validate a raw mapping; every problem becomes one line of one ``ConfigError``."""
    try:
        return ExperimentConfig.model_validate(doc)
    except ValidationError as e:
        raise ConfigError(*format_errors(e)) from None


def load_config(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    name: str | None = None,
    axes: list[str] | tuple[str, ...] = (),
    mode: str | None = None,
) -> tuple[ExperimentConfig, dict[str, Any]]:
    """Read, override and validate a config file; returns the config and the raw document.

    The raw document (with overrides and command-line sweep axes applied, builder paths made
    absolute) is what ``experiment.yaml`` records. ``name`` defaults to the file's stem.
    """
    p = Path(path)
    doc = read_yaml(p)
    doc = copy.deepcopy(doc)
    for item in overrides:
        key, value = parse_assignment(item)
        set_dotted(doc, key, value)
    add_sweep_axes(doc, list(axes), mode)
    doc.setdefault("name", name or re.sub(r"[^A-Za-z0-9._-]", "-", p.stem))
    _absolutise_paths(doc, p.resolve().parent)
    return validate(doc), doc


def _absolutise_paths(doc: dict[str, Any], base: Path) -> None:
    """Relative data and builder paths are relative to the config file's folder, in the base
    config and in the sweep block (a variant or an axis may name a file too)."""
    data, model = doc.get("data"), doc.get("model")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        data["path"] = _resolve(data["path"], base)
    if isinstance(model, dict) and isinstance(model.get("builder"), str):
        model["builder"] = _resolve_builder(model["builder"], base)
    sweep = doc.get("sweep")
    if not isinstance(sweep, dict):
        return
    full = {"mode", "params", "samples", "variants"} & set(sweep)
    settings = [sweep.get("params") or {}] if full else [sweep]
    settings += [v for v in (sweep.get("variants") or {}).values() if full]
    for block in settings:
        if not isinstance(block, dict):
            continue
        for key, fix in (("data.path", _resolve), ("model.builder", _resolve_builder)):
            value = block.get(key)
            if isinstance(value, str):
                block[key] = fix(value, base)
            elif isinstance(value, list):
                block[key] = [fix(v, base) if isinstance(v, str) else v for v in value]


def _resolve_builder(spec: str, base: Path) -> str:
    if ":" not in spec:
        return spec
    file, _, func = spec.rpartition(":")
    return f"{_resolve(file, base)}:{func}"


def _resolve(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    if p.is_absolute():
        return str(p)
    in_base = base / p
    return str(in_base if in_base.exists() or not p.exists() else p.resolve())


# ---------------------------------------------------------------------------------------------
# error messages


_MISMATCH = re.compile(r"^must be (.*), got (.*)$", flags=re.S)


def format_errors(error: ValidationError) -> list[str]:
    """Turn pydantic errors into ``dotted.key: message`` lines, one per problem.

    A model validator reports problems of its sub-keys as ``"sub.key: message"`` lines joined
    by newlines; they are prefixed with the validator's own location. A value that fails
    every branch of a union (``batch_size: 0`` is neither > 0 nor 'full') gives one line:
    the specific complaint when a branch had one, else the branches' types joined by "or".
    """
    found: dict[str, list[tuple[bool, str]]] = {}
    for err in error.errors():
        loc, section = _walk(err["loc"], extra=err["type"] == "extra_forbidden")
        key = ".".join(str(part) for part in loc)
        mismatch = err["type"].endswith(("_type", "_parsing", "literal_error", "from_float"))
        if err["type"] == "extra_forbidden":
            text = _unknown_key(str(loc[-1]), section)
        else:
            text = _message(err)
        for message in text.split("\n"):
            sub = re.match(r"^([a-z_][\w.]*): (.*)$", message, flags=re.S)
            full = (f"{key}.{sub[1]}" if key else sub[1]) if sub else key
            found.setdefault(full, []).append((mismatch, sub[2] if sub else message))
    lines = []
    for key, entries in found.items():
        deeper = any(k.startswith(f"{key}.") for k in found)
        specific = [m for mismatch, m in entries if not mismatch]
        if specific:
            messages = list(dict.fromkeys(specific))
        elif deeper:
            continue  # a mapping was given and its own keys were wrong: those lines say it
        elif len(entries) > 1:
            parts = [_MISMATCH.match(m) for _, m in entries]
            if all(parts):
                wanted = " or ".join(dict.fromkeys(p[1] for p in parts if p))
                messages = [f"must be {wanted}, got {parts[0][2]}"]  # type: ignore[index]
            else:
                messages = [entries[0][1]]
        else:
            messages = [entries[0][1]]
        lines.extend(f"{key}: {m}" if key else m for m in messages)
    return lines


def _walk(loc: tuple[Any, ...], extra: bool) -> tuple[tuple[Any, ...], type[BaseModel]]:
    """Map a pydantic error location onto the config's dotted keys.

    Pydantic adds the name of the union branch it tried (``str``, ``InitializerSpec``,
    ``plateau``, ``literal['full']``...) to the location. Walking the schema tells a real key
    from a branch name, whatever the user typed. Returns the keys and the section (model)
    that holds the last one, for the suggestions of an unknown key.
    """
    models: list[type[BaseModel]] = [ExperimentConfig]
    section: type[BaseModel] = ExperimentConfig
    out: list[Any] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out.append(part)
            continue
        holder = next((m for m in models if part in m.model_fields), None)
        if holder is not None:
            out.append(part)
            section = holder
            models = _models_of(holder.model_fields[part].annotation)
        elif extra and i == len(loc) - 1:
            out.append(part)
            section = models[0] if models else section
        else:
            branch = [m for m in models if part in (m.__name__, _tag(m))]
            models = branch or models  # a plain branch ('str', 'literal[...]') changes nothing
    return tuple(out), section


def _models_of(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_of(arg)]


def _tag(model: type[BaseModel]) -> str | None:
    """The ``kind`` a member of a tagged union answers to (``plateau`` for PlateauSchedule)."""
    field = model.model_fields.get("kind")
    tags = get_args(field.annotation) if field is not None else ()
    return tags[0] if len(tags) == 1 else None


def _message(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = err.get("input")
    if kind == "missing":
        return "required"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
              "less_than_equal": "<="}[kind]  # fmt: skip
        bound = ctx.get("gt", ctx.get("ge", ctx.get("lt", ctx.get("le"))))
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"must be {op} {bound}, got {got!r}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        if isinstance(got, str) and len(choices) > 1:
            return names.unknown_name("value", got, choices)
        return f"must be {' or '.join(repr(c) for c in choices)}, got {got!r}"
    if kind == "union_tag_invalid":
        return f"kind must be one of {ctx.get('expected_tags')}, got {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return f"needs a 'kind' ({', '.join(names.SCHEDULES)})"
    if kind == "string_pattern_mismatch":
        return f"must contain only letters, digits, '.', '_' and '-', got {got!r}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"])).removeprefix("Value error, ")
    expected = {
        "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
        "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
        "bool_parsing": "true or false", "string_type": "a string", "list_type": "a list",
        "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    }.get(kind)  # fmt: skip
    if expected:
        return f"must be {expected}, got {got!r}"
    return f"{err['msg']}, got {got!r}"


def _unknown_key(key: str, section: type[BaseModel]) -> str:
    known = list(section.model_fields)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.7)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key{hint}; valid: {', '.join(known)}"
