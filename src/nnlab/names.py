"""The Keras names a config may use, listed here so that validation needs no backend import.

``tests/test_names.py`` checks every name against the installed Keras, so this list cannot
drift from what Keras accepts.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "mish", "relu", "relu6", "selu",
    "sigmoid", "silu", "softmax", "softplus", "softsign", "sparse_plus", "squareplus",
    "swish", "tanh", "tanh_shrink",
)  # fmt: skip

INITIALIZERS = (
    "constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
    "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "zeros",
)  # fmt: skip

# config name -> Keras class name
OPTIMIZERS = {
    "adadelta": "Adadelta",
    "adafactor": "Adafactor",
    "adagrad": "Adagrad",
    "adam": "Adam",
    "adamax": "Adamax",
    "adamw": "AdamW",
    "ftrl": "Ftrl",
    "lamb": "Lamb",
    "lion": "Lion",
    "nadam": "Nadam",
    "rmsprop": "RMSprop",
    "sgd": "SGD",
}

# config name -> Keras loss function name; "auto" is resolved from the task
LOSSES = {
    "auto": "auto",
    "binary_crossentropy": "binary_crossentropy",
    "binary_focal_crossentropy": "binary_focal_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "categorical_hinge": "categorical_hinge",
    "hinge": "hinge",
    "squared_hinge": "squared_hinge",
    "mse": "mean_squared_error",
    "mean_squared_error": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mean_absolute_error": "mean_absolute_error",
    "huber": "huber",
    "log_cosh": "log_cosh",
    "poisson": "poisson",
    "kl_divergence": "kl_divergence",
}

# config name -> Keras metric class name (or "accuracy": picked from the task);
# the history column keeps the name the user wrote
METRICS = {
    "accuracy": "accuracy",
    "binary_accuracy": "BinaryAccuracy",
    "categorical_accuracy": "CategoricalAccuracy",
    "sparse_categorical_accuracy": "SparseCategoricalAccuracy",
    "top5_accuracy": "SparseTopKCategoricalAccuracy",
    "auc": "AUC",
    "precision": "Precision",
    "recall": "Recall",
    "mse": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "rmse": "RootMeanSquaredError",
    "mape": "MeanAbsolutePercentageError",
    "r2": "R2Score",
}

# metrics where larger is better; every other metric (and every loss) is minimised
MAXIMIZED_METRICS = frozenset(
    {"accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
     "top5_accuracy", "auc", "precision", "recall", "r2"}
)  # fmt: skip

CLASSIFICATION_ONLY_METRICS = MAXIMIZED_METRICS - {"r2"}

SCHEDULES = ("plateau", "step", "exponential", "cosine")


def snake_case(name: str) -> str:
    """``RandomNormal`` -> ``random_normal``; snake_case names pass through unchanged."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() if name != name.lower() else name


def unknown_name(kind: str, name: object, choices: object) -> str:
    """The message for an unknown name: what was given, a close match, and every valid choice."""
    valid = sorted(choices)  # type: ignore[call-overload]
    close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.7)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}; valid: {', '.join(valid)}"


# the sets ``train.evaluate_on`` evaluates the final model on; their columns are
# ``<set>_<metric>`` (``all_accuracy``, ``train_loss``)
EVALUATION_SETS = ("validation", "train", "all")
_SET_PREFIXES = tuple(f"{s}_" for s in EVALUATION_SETS)


def is_evaluated(column: str) -> bool:
    """True for a column of ``train.evaluate_on`` (``all_accuracy``, ``validation_loss``)."""
    return column.startswith(_SET_PREFIXES)


def is_maximized(metric: str) -> bool:
    """True when a larger value of ``metric`` (or ``val_<metric>``, ``all_<metric>``...) is
    better."""
    for prefix in ("val_", "test_", *_SET_PREFIXES):
        metric = metric.removeprefix(prefix)
    return metric in MAXIMIZED_METRICS


def shared_target(columns: list[str], has_gaps: Callable[[str], bool]) -> str | None:
    """:func:`target_column`, unless some runs have no validation set (``data.validation:
    none`` beside held-out runs) and so no value there: then the first of ``all_accuracy``,
    a maximized ``all_`` metric, ``all_loss`` (``train.evaluate_on: [all]``) and the
    training target (``best_accuracy`` ...) that ``has_gaps`` says every run has."""
    target = target_column(columns)
    if target is None or not target.startswith("best_val_") or not has_gaps(target):
        return target
    evaluated = [c for c in columns if c.startswith("all_") and is_maximized(c)]
    training = target_column([c for c in columns if not c.startswith("best_val_")])
    for col in ("all_accuracy", *evaluated, "all_loss", training):
        if col in columns and not has_gaps(col):
            return col
    return target


def target_column(columns: list[str]) -> str | None:
    """The summary column runs are ranked by (plots, ``nnlab ls``): ``best_val_accuracy`` when
    there is one, else the first ``best_val_*`` of a metric where larger is better, else
    ``best_val_loss``; without a validation set (``data.validation: none``) the same over the
    training columns (``best_accuracy`` ... ``best_loss``); None when none exists."""
    for prefix in ("best_val_", "best_"):
        if f"{prefix}accuracy" in columns:
            return f"{prefix}accuracy"
        for col in columns:
            if col.startswith(prefix) and is_maximized(col.removeprefix("best_")):
                return col
        if f"{prefix}loss" in columns:
            return f"{prefix}loss"
    return None
