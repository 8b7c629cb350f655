"""Pieces every built-in model shares: input and normalization, kernel settings, the head."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from nnlab.config import ExperimentConfig, ModelConfig
    from nnlab.data import Dataset


def initializer(cfg: ModelConfig) -> Any:
    """The kernel initializer: a name, or ``{name: random_normal, stddev: 1.0}`` with arguments."""
    import keras

    spec = cfg.initializer
    name, args = (spec, {}) if isinstance(spec, str) else (spec.name, dict(spec.model_extra or {}))
    return getattr(keras.initializers, class_name(name))(**args)


def class_name(snake: str) -> str:
    """``random_normal`` -> ``RandomNormal`` (Keras' initializer classes)."""
    return "".join(part.capitalize() for part in snake.split("_"))


def regularizer(cfg: ModelConfig) -> Any:
    """An L1/L2 kernel regularizer, or None when both are zero."""
    import keras

    if cfg.l1 == 0 and cfg.l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=cfg.l1, l2=cfg.l2)


def kernel_args(cfg: ModelConfig) -> dict[str, Any]:
    """Keyword arguments for every Dense/Conv2D layer with weights the user configures.

    With batch norm the layer's own bias is redundant (BatchNormalization has beta), so it
    is dropped, as in the batch-normalization papers and lessons; ``use_bias: false`` drops
    every bias.
    """
    return {
        "kernel_initializer": initializer(cfg),
        "kernel_regularizer": regularizer(cfg),
        "use_bias": cfg.use_bias and cfg.batch_norm is not True,
    }


def inputs(config: ExperimentConfig, data: Dataset) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The model input and, with ``data.scale: layer``, a Normalization layer adapted on the
    training split only (never the validation or test data)."""
    import keras

    x_in = keras.Input(shape=data.input_shape, name="input")
    x = x_in
    if config.data.scale == "layer":
        norm = keras.layers.Normalization(axis=-1, name="normalization")
        norm.adapt(data.x_train)
        x = norm(x)
    return x_in, x


def activate(x: keras.KerasTensor, cfg: ModelConfig, name: str) -> keras.KerasTensor:
    """Batch norm (before the activation, or after it with ``batch_norm: after``), the
    activation, then noise and dropout."""
    import keras

    if cfg.batch_norm is True:
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    x = keras.layers.Activation(cfg.activation, name=f"{name}_{cfg.activation}")(x)
    if cfg.batch_norm == "after":
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    if cfg.noise > 0:
        x = keras.layers.GaussianNoise(cfg.noise, name=f"{name}_noise")(x)
    if cfg.dropout > 0:
        x = keras.layers.Dropout(cfg.dropout, name=f"{name}_dropout")(x)
    return x


def head(data: Dataset) -> tuple[int, str]:
    """Units and activation of the output layer for the task."""
    if data.task == "binary":
        return 1, "sigmoid"
    if data.task == "multiclass":
        return data.n_classes, "softmax"
    return 1, "linear"


def output(x: keras.KerasTensor, cfg: ModelConfig, data: Dataset) -> keras.KerasTensor:
    import keras

    units, act = head(data)
    return keras.layers.Dense(
        units,
        activation=act if cfg.output_activation == "auto" else cfg.output_activation,
        kernel_initializer=initializer(cfg),
        kernel_regularizer=regularizer(cfg) if cfg.penalize_output else None,
        use_bias=cfg.use_bias,
        name="output",
    )(x)


def leaf_layers(model: keras.Model) -> list[Any]:
    """The layers of ``model`` in order, with nested models (a custom builder's Sequential
    inside a Model) opened up, so each kernel belongs to the layer that owns it."""
    out = []
    for layer in model.layers:
        out.extend(leaf_layers(layer) if hasattr(layer, "layers") else [layer])
    return out


def is_regularized(model: keras.Model) -> bool:
    """Whether a built model has a layer that trains differently from how it predicts
    (dropout, noise, batch norm), nested models included."""
    kinds = ("Dropout", "Noise", "BatchNormalization")
    return any(any(k in type(layer).__name__ for k in kinds) for layer in leaf_layers(model))
