"""The model numbers each member of a fused group holds on its own: ``model.dropout``,
``model.noise``, ``model.l1`` and ``model.l2``.

Keras reads these as Python floats when the step is traced (``Dropout`` and ``GaussianNoise``
test ``rate > 0``, ``L1L2`` tests ``l1 != 0``), so one traced program would give every member
the template's. Here the template's layers and regularizers are given a subclass whose only
change is that those tests are left out (whether the layer is there is part of the program
shape: ``fused.groups``), and each member's value is set on them, as a traced ``[K]``-mapped
scalar, just before Keras' ``train_step`` or ``test_step`` is traced. The random draws are
Keras' own (``jax_draw_seed`` on the layer's seed generator, the same ``jax.random`` calls as
Keras' JAX ``dropout`` and ``normal``), so a member's masks and noise equal its separate run's.

Only nnlab's built-in models (their layers come from these keys); a custom builder's layers
keep their own numbers, which are then part of the program shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import keras
import numpy as np
from keras import ops
from keras.src.backend.jax.random import jax_draw_seed

from nnlab.fused.groups import MODEL_NUMBERS


class MemberDropout(keras.layers.Dropout):
    """Keras' Dropout with the keep probability ``keep`` a traced scalar (``1 - rate``,
    taken in float64 and rounded to float32 as Keras' Python float is): the same mask draw
    and scaling."""

    keep: Any = None

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training:
            return inputs
        keep = self.keep
        shape = tuple(s if s is not None else inputs.shape[i]
                      for i, s in enumerate(self.noise_shape or inputs.shape))  # fmt: skip
        mask = jax.random.bernoulli(jax_draw_seed(self.seed_generator), p=keep, shape=shape)
        mask = jax.numpy.broadcast_to(mask, inputs.shape)
        return jax.lax.select(mask, inputs / keep, jax.numpy.zeros_like(inputs))


class MemberNoise(keras.layers.GaussianNoise):
    """Keras' GaussianNoise with ``stddev`` a traced scalar."""

    def call(self, inputs: Any, training: bool = False) -> Any:
        if not training:
            return inputs
        sample = jax.random.normal(jax_draw_seed(self.seed_generator), shape=inputs.shape,
                                   dtype=self.compute_dtype)  # fmt: skip
        return inputs + (sample * self.stddev + 0.0)


class MemberL1L2(keras.regularizers.L1L2):
    """Keras' L1L2 with both factors always applied: a zero factor adds an exact zero."""

    def __call__(self, x: Any) -> Any:
        penalty = ops.convert_to_tensor(0.0, dtype=x.dtype)
        penalty += ops.cast(self.l1, dtype=x.dtype) * ops.sum(ops.absolute(x))
        penalty += ops.cast(self.l2, dtype=x.dtype) * ops.sum(ops.square(x))
        return penalty


class Numbers:
    """The template's per-member numbers: ``values[key]`` is ``[K]`` float32 for each key
    the template uses (for dropout, the keep probability), and ``apply`` sets one member's
    (traced) values on the template's layers and regularizers."""

    def __init__(self, template: keras.Model, configs: Sequence[Any]) -> None:
        self.dropouts: list[Any] = []
        self.noises: list[Any] = []
        self.regularizers: list[Any] = []
        if configs[0].model.kind != "custom":
            for layer in template._flatten_layers(include_self=False):
                if type(layer) is keras.layers.Dropout:
                    layer.__class__ = MemberDropout
                    self.dropouts.append(layer)
                elif type(layer) is keras.layers.GaussianNoise:
                    layer.__class__ = MemberNoise
                    self.noises.append(layer)
            found = {id(v.regularizer): v.regularizer for v in template.trainable_weights
                     if type(v.regularizer) is keras.regularizers.L1L2}  # fmt: skip
            for reg in found.values():
                reg.__class__ = MemberL1L2
                self.regularizers.append(reg)
        per_member = {"dropout": (self.dropouts, lambda m: 1.0 - m.dropout),  # keep probability
                      "noise": (self.noises, lambda m: m.noise),
                      "l1": (self.regularizers, lambda m: m.l1),
                      "l2": (self.regularizers, lambda m: m.l2)}  # fmt: skip
        assert set(per_member) == set(MODEL_NUMBERS)
        self.values = {key: np.array([value(c.model) for c in configs], np.float32)
                       for key, (used, value) in per_member.items() if used}  # fmt: skip

    def apply(self, values: dict[str, Any]) -> None:
        """Set member values (scalars, traced inside ``vmap``) where Keras will read them."""
        for layer in self.dropouts:
            layer.keep = values["dropout"]
        for layer in self.noises:
            layer.stddev = values["noise"]
        for reg in self.regularizers:
            reg.l1, reg.l2 = values["l1"], values["l2"]
