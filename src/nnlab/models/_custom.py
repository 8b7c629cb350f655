"""The user's own model: ``model.builder: "path/to/file.py:function"``.

The function is called with whichever of these keyword arguments it accepts (all of them
when it takes ``**kwargs``): ``input_shape`` (tuple), ``num_outputs`` (int), ``output_activation``
("sigmoid", "softmax" or "linear"), ``task`` ("binary", "multiclass", "regression") and
``config`` (the ``model`` section as a dict). It must return a ``keras.Model``; nnlab compiles it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nnlab import user_code
from nnlab.errors import ConfigError
from nnlab.models import _layers

if TYPE_CHECKING:
    import keras

    from nnlab.config import ExperimentConfig
    from nnlab.data import Dataset


def builder_sources(specs: list[str]) -> dict[str, str]:
    """The source of each builder file named in ``specs`` ("file.py:function")."""
    return user_code.sources(specs)


def supply_builders(sources: dict[str, str]) -> None:
    """Import these sources for their files (``builder_sources`` of the driver)."""
    user_code.supply(sources)


def load_builder(spec: str) -> Callable[..., Any]:
    """Import ``file.py`` and return its function; every problem is a ``model.builder`` error."""
    if ":" not in spec or not user_code.is_file(spec):
        raise ConfigError(f"model.builder: {spec!r} is not FILE.py:FUNCTION")
    return user_code.load(spec, "model.builder")


def build_custom(config: ExperimentConfig, data: Dataset) -> keras.Model:
    import keras

    assert config.model.builder is not None
    fn = load_builder(config.model.builder)
    units, activation = _layers.head(data)
    offered = {
        "input_shape": data.input_shape,
        "num_outputs": units,
        "output_activation": activation,
        "task": data.task,
        "config": config.model.model_dump(mode="json"),
    }
    params = inspect.signature(fn).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    model = fn(**{k: v for k, v in offered.items() if takes_all or k in params})
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model.builder: {fn.__name__} returned {type(model).__name__}, expected a keras.Model"
        )
    if config.data.scale == "layer":
        # the adapted Normalization goes in front of the user's model, as for built-in ones
        x_in, x = _layers.inputs(config, data)
        model = keras.Model(x_in, model(x), name=model.name)
    return model
