"""The multi-layer perceptron: Dense layers of ``model.hidden`` units."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nnlab.models import _layers

if TYPE_CHECKING:
    import keras

    from nnlab.config import ExperimentConfig
    from nnlab.data import Dataset


def build_mlp(config: ExperimentConfig, data: Dataset) -> keras.Model:
    import keras

    cfg = config.model
    x_in, x = _layers.inputs(config, data)
    if len(data.input_shape) > 1:
        x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(cfg.hidden, start=1):
        x = keras.layers.Dense(units, name=f"dense{i}", **_layers.kernel_args(cfg))(x)
        x = _layers.activate(x, cfg, f"dense{i}")
    return keras.Model(x_in, _layers.output(x, cfg, data), name="mlp")
