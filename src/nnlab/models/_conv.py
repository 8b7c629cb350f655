"""Convolutional models for image data: the LeNet-5 of the CIFAR-10 lesson and a small stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nnlab.models import _layers

if TYPE_CHECKING:
    import keras

    from nnlab.config import ExperimentConfig, ModelConfig
    from nnlab.data import Dataset

LENET5_FILTERS = (6, 16)
LENET5_DENSE = (120, 84)


def _conv_blocks(
    x: keras.KerasTensor, cfg: ModelConfig, filters: tuple[int, ...] | list[int], size: int
) -> keras.KerasTensor:
    import keras

    for i, n in enumerate(filters, start=1):
        x = keras.layers.Conv2D(
            n, size, padding="same", name=f"conv{i}", **_layers.kernel_args(cfg)
        )(x)
        x = _layers.activate(x, cfg, f"conv{i}")
        x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    return x


def _dense_blocks(
    x: keras.KerasTensor, cfg: ModelConfig, units: tuple[int, ...] | list[int]
) -> keras.KerasTensor:
    import keras

    x = keras.layers.Flatten(name="flatten")(x)
    for i, n in enumerate(units, start=1):
        x = keras.layers.Dense(n, name=f"dense{i}", **_layers.kernel_args(cfg))(x)
        x = _layers.activate(x, cfg, f"dense{i}")
    return x


def build_lenet5(config: ExperimentConfig, data: Dataset) -> keras.Model:
    """conv 6@5x5 same, max-pool, conv 16@5x5 same, max-pool, dense 120, dense 84, output;
    ``model.hidden`` and ``model.filters`` do not apply (the architecture is fixed)."""
    import keras

    cfg = config.model
    x_in, x = _layers.inputs(config, data)
    x = _conv_blocks(x, cfg, LENET5_FILTERS, 5)
    x = _dense_blocks(x, cfg, LENET5_DENSE)
    return keras.Model(x_in, _layers.output(x, cfg, data), name="lenet5")


def build_cnn(config: ExperimentConfig, data: Dataset) -> keras.Model:
    """One conv block per ``model.filters`` entry, then Dense layers of ``model.hidden``."""
    import keras

    cfg = config.model
    x_in, x = _layers.inputs(config, data)
    x = _conv_blocks(x, cfg, cfg.filters, cfg.kernel_size)
    x = _dense_blocks(x, cfg, cfg.hidden)
    return keras.Model(x_in, _layers.output(x, cfg, data), name="cnn")
