"""The base of every config section: unknown keys and non-finite numbers refused, and YAML's
``yes``/``true`` not read as a number. ``config`` builds its models on it."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

VALIDATION_FORMS = "a fraction of the rows (0.25), a row count (70), 'test' or 'none'"


def _validation_size(value: Any) -> Any:
    """One message for a ``data.validation`` no form accepts: the union would give one line
    per form (``must be > 0`` and ``must be >= 1`` for 0), none of them naming the others."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}")
    fraction = number and 0 < value < 1
    count = number and value >= 1 and float(value).is_integer()
    if value in ("test", "none") or fraction or count:
        return value
    raise ValueError(f"must be {VALIDATION_FORMS}, got {value!r}")


# data.validation: a fraction held out, a count of rows, the official test split, or none
ValidationSize = Annotated[
    Annotated[float, Field(gt=0, lt=1)] | Annotated[int, Field(ge=1)] | Literal["test", "none"],
    BeforeValidator(_validation_size),
]


class Strict(BaseModel):
    # a number in the config is finite: .inf and .nan are refused wherever a number goes
    model_config = ConfigDict(extra="forbid", validate_assignment=False, allow_inf_nan=False)

    @pydantic.model_validator(mode="before")
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


def finite_arguments(extra: dict[str, Any] | None) -> None:
    """The free arguments of an optimizer or initializer: a number among them is finite."""
    bad = [f"{key}: must be a finite number, got {value!r}"
           for key, value in (extra or {}).items() if not _finite(value)]  # fmt: skip
    if bad:
        raise ValueError("\n".join(bad))


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True
