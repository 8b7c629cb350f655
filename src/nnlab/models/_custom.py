"""The user's own model: ``model.builder: "path/to/file.py:function"``.

The function is called with whichever of these keyword arguments it accepts (all of them
when it takes ``**kwargs``): ``input_shape`` (tuple), ``num_outputs`` (int), ``output_activation``
("sigmoid", "softmax" or "linear"), ``task`` ("binary", "multiclass", "regression") and
``config`` (the ``model`` section as a dict). It must return a ``keras.Model``; nnlab compiles it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnlab.errors import ConfigError
from nnlab.models import _layers

if TYPE_CHECKING:
    import keras

    from nnlab.config import ExperimentConfig
    from nnlab.data import Dataset


SUPPLIED: dict[str, str] = {}  # builder file -> its source, handed over by a cluster's driver


def builder_sources(specs: list[str]) -> dict[str, str]:
    """The source of each builder file named in ``specs`` ("file.py:function"), for a
    machine that does not have the files (``SUPPLIED`` there)."""
    out = {}
    for spec in specs:
        file = spec.rpartition(":")[0]
        with contextlib.suppress(OSError):
            out[file] = Path(file).read_text(encoding="utf-8")
    return out


def supply_builders(sources: dict[str, str]) -> None:
    """Import these sources for their files (``builder_sources`` of the driver)."""
    SUPPLIED.update(sources)


def load_builder(spec: str) -> Callable[..., Any]:
    """Import ``file.py`` and return its function; every problem is a ``model.builder`` error."""
    file, _, func = spec.rpartition(":")
    path = Path(file)
    source = SUPPLIED.get(file)
    if source is None and not path.is_file():
        raise ConfigError(f"model.builder: file not found: {path}")
    module_name = "nnlab_builder_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    module = sys.modules.get(module_name)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ConfigError(f"model.builder: cannot import {path}")
        module = importlib.util.module_from_spec(loader_spec)
        try:
            if source is None:
                loader_spec.loader.exec_module(module)
            else:  # the driver's copy of the file: the same code its run ids hash
                exec(compile(source, str(path), "exec"), module.__dict__)
        except SyntaxError as e:
            raise ConfigError(
                f"model.builder: {path} has a syntax error at line {e.lineno}: {e.msg}"
            ) from None
        except Exception as e:
            raise ConfigError(
                f"model.builder: importing {path} raised {type(e).__name__}: {e}"
            ) from None
        sys.modules[module_name] = module
    fn = getattr(module, func, None)
    if not callable(fn):
        found = sorted(
            n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_")
        )
        raise ConfigError(
            f"model.builder: {path} has no function {func!r}; functions there: "
            f"{', '.join(found) or 'none'}"
        )
    return fn


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
