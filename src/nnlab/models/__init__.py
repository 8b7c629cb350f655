"""Model builders: one per ``model.kind``; ``build_model`` picks it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nnlab.config import MODEL_KINDS
from nnlab.models._conv import build_cnn, build_lenet5
from nnlab.models._custom import build_custom, builder_sources, load_builder, supply_builders
from nnlab.models._layers import class_name, initializer, is_regularized, leaf_layers
from nnlab.models._mlp import build_mlp

if TYPE_CHECKING:
    import keras

    from nnlab.config import ExperimentConfig
    from nnlab.data import Dataset

BUILDERS: dict[str, Callable[[Any, Any], Any]] = {
    "mlp": build_mlp,
    "lenet5": build_lenet5,
    "cnn": build_cnn,
    "custom": build_custom,
}
assert tuple(BUILDERS) == MODEL_KINDS, "every model kind the config accepts needs a builder"


def build_model(config: ExperimentConfig, data: Dataset) -> keras.Model:
    """The uncompiled model for ``config.model.kind``, shaped for ``data``."""
    return BUILDERS[config.model.kind](config, data)


__all__ = [
    "BUILDERS",
    "build_custom",
    "build_model",
    "builder_sources",
    "class_name",
    "initializer",
    "is_regularized",
    "leaf_layers",
    "load_builder",
    "supply_builders",
]
