"""The one-patient form, generated from a served model's input schema, and the server-side check of its values.

Inputs are named ``field-0``, ``field-1``, ... (not by column name), so any column
name, however odd, is only ever shown as escaped text. A value the server cannot use
(not a number, an unknown category, a required value left empty) is refused with a
message next to its field; a number outside the training range is refused once with a
warning, and accepted when the user ticks "predict anyway" (the answer card repeats
the warning). The submitted text is always sent back into the form, so nothing typed
is lost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FieldSpec", "FormCheck", "check_patient_form", "field_specs"]

_AMBIGUOUS_COMMA = re.compile(r"[+-]?\d{1,3},\d{3}")


@dataclass(frozen=True)
class FieldSpec:
    """One input of the form: a column of the model's input table."""

    index: int
    name: str
    kind: str                       # "numeric" or "categorical"
    minimum: float | None = None    # training range, shown as a hint
    maximum: float | None = None
    categories: tuple[str, ...] = ()
    optional: bool = False          # a missing value is imputed by the model
    missing_note: str = ""
    example: str = ""

    @property
    def input_name(self) -> str:
        return f"field-{self.index}"

    @property
    def hint(self) -> str:
        parts = []
        if self.kind == "numeric" and self.minimum is not None and self.maximum is not None:
            parts.append(f"training range {_number(self.minimum)} to {_number(self.maximum)}")
        if self.optional:
            parts.append(self.missing_note or "optional: leave empty if unknown")
        return "; ".join(parts)


@dataclass
class FormCheck:
    """The result of checking a submitted form."""

    record: dict[str, Any] = field(default_factory=dict)    # column name → value, for the model
    errors: dict[str, str] = field(default_factory=dict)     # input name → why it was refused
    warnings: dict[str, str] = field(default_factory=dict)   # input name → out-of-range warning
    values: dict[str, str] = field(default_factory=dict)     # input name → the text as typed

    @property
    def ok(self) -> bool:
        return not self.errors


def _number(value: float) -> str:
    return f"{value:.4g}"


def _first(column: Mapping, *keys: str) -> Any:
    for key in keys:
        if column.get(key) is not None:
            return column[key]
    return None


def field_specs(columns: Sequence[Mapping[str, Any]]) -> list[FieldSpec]:
    """Form fields for the columns of an input schema.

    Each column is a mapping with ``name`` and ``type`` (``numeric``/``categorical``) and,
    when known, the training range (``training_range``: ``{"low", "high"}`` or a pair, or
    ``min``/``max``), ``categories``, what a missing value becomes (``missing_values``; a
    text starting "not allowed" makes the field required) and an ``example`` value.
    """
    specs = []
    for index, column in enumerate(columns):
        kind = "categorical" if str(column.get("type", "numeric")).startswith("categor") else "numeric"
        bounds = _first(column, "training_range", "range")
        if isinstance(bounds, Mapping):
            bounds = (bounds.get("low"), bounds.get("high"))
        low = bounds[0] if bounds else _first(column, "min", "minimum")
        high = bounds[1] if bounds else _first(column, "max", "maximum")
        missing = str(_first(column, "missing_values", "missing") or "")
        optional = bool(column.get("optional", bool(missing) and not missing.startswith("not allowed")))
        example = _first(column, "example", "median", "most_frequent")
        specs.append(FieldSpec(
            index=index, name=str(column["name"]), kind=kind,
            minimum=None if low is None else float(low), maximum=None if high is None else float(high),
            categories=tuple(str(c) for c in column.get("categories") or ()), optional=optional,
            missing_note=f"optional: if empty, {missing}" if optional and missing else "",
            example="" if example is None else (_number(example) if isinstance(example, (int, float)) else str(example))))
    return specs


def check_patient_form(specs: Sequence[FieldSpec], form: Mapping[str, Any], *, accept_out_of_range: bool = False
                       ) -> FormCheck:
    """Turn the submitted text into one patient's record, refusing what the model cannot use."""
    check = FormCheck()
    for spec in specs:
        text = str(form.get(spec.input_name, "") or "").strip()
        check.values[spec.input_name] = text
        if not text:
            if spec.optional:
                check.record[spec.name] = None
            else:
                check.errors[spec.input_name] = f"{spec.name} is required by this model."
            continue
        if spec.kind == "categorical":
            if spec.categories and text not in spec.categories:
                check.errors[spec.input_name] = (f"{spec.name} must be one of: {', '.join(spec.categories)}. "
                                                 f"Got {text!r} instead.")
            check.record[spec.name] = text
            continue
        if _AMBIGUOUS_COMMA.fullmatch(text):  # "1,000": a thousand, or one with a decimal comma?
            check.errors[spec.input_name] = (f"{spec.name}: {text!r} could be read two ways (a decimal comma or a "
                                             f"thousands separator). Write it without the comma, e.g. "
                                             f"{text.replace(',', '')!r} or {text.replace(',', '.')!r}.")
            continue
        try:
            if "_" in text:  # float() reads "7_0" as 70
                raise ValueError(text)
            value = float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
        except ValueError:
            check.errors[spec.input_name] = f"{spec.name} must be a number. Got {text!r} instead."
            continue
        if not math.isfinite(value):
            check.errors[spec.input_name] = f"{spec.name} must be a finite number. Got {text!r} instead."
            continue
        check.record[spec.name] = value
        low, high = spec.minimum, spec.maximum
        if low is not None and high is not None and not low <= value <= high:
            check.warnings[spec.input_name] = (
                f"{_number(value)} is outside the training range of {spec.name} ({_number(low)} to {_number(high)}): "
                f"the model has not seen such values, so its answer is less reliable.")
    if check.warnings and not accept_out_of_range:
        for name, message in check.warnings.items():
            check.errors.setdefault(name, message + " Tick \u201cpredict anyway\u201d to go on.")
    return check
