"""Class labels: catch spelling variants before they become classes, and choose the positive class.

Both mistakes pass silently otherwise. 'Cancer', 'cancer ', 'cancr' and 'helthy'
in a two-class column gave an 8-class model (exit 0); for 'disease' / 'no disease'
the alphabetically last label, 'no disease', became the positive class, so
sensitivity, PPV and the threshold were about the wrong class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from meddl.errors import ConfigError, DataError

__all__ = ["apply_label_map", "check_label_spellings", "choose_positive_class", "is_negation", "RARE_CLASS_ROWS"]

#: A class with fewer rows than this that is one or two edits from another class is taken for a typo.
RARE_CLASS_ROWS = 5
_NEGATIONS = frozenset({"0", "false", "no", "negative", "neg", "normal", "healthy", "benign", "absent", "none",
                        "control", "controls", "no finding", "non", "not"})
_NEGATION_PREFIXES = ("no ", "non ", "non-", "not ", "without ")
_MAX_NAMES_LISTED = 8


def is_negation(label: object) -> bool:
    """Whether a label reads as the absence of the condition: 'no disease', 'negative', 'normal', 'benign', 0, false.

    >>> is_negation("No disease"), is_negation("benign"), is_negation("malignant")
    (True, True, False)
    """
    text = " ".join(str(label).replace("_", " ").split()).casefold()
    if text in _NEGATIONS:
        return True
    try:
        return float(text) == 0.0
    except ValueError:
        pass
    return text.startswith(_NEGATION_PREFIXES) or text in ("uninfected", "unaffected", "undetected")


def choose_positive_class(class_names: Sequence[str], positive_class: str | None = None,
                          *, label: str | None = None) -> tuple[str, str]:
    """The positive class of a two-class problem, and why it was chosen.

    ``positive_class`` (``data.positive_class``) wins when given. Otherwise the
    choice is made only when it is unambiguous: exactly one of the two labels is a
    negation (:func:`is_negation`), and the other one is positive.

    Returns:
        ``(name, reason)``; ``reason`` is a short phrase for the run log.

    Raises:
        ConfigError: if there are not two classes, ``positive_class`` is not one of
            them, or neither/both labels are negations (the message lists the labels).

    Example:
        >>> choose_positive_class(["disease", "no disease"])
        ('disease', "the other label, 'no disease', is a negation")
    """
    names = [str(n) for n in class_names]
    if len(names) != 2:
        raise ConfigError(f"data.positive_class is for two classes; the data has {len(names)}: {names}.")
    if positive_class is not None:
        if str(positive_class) not in names:
            raise ConfigError(f"data.positive_class {positive_class!r} is not a class; classes are {names}.")
        return str(positive_class), "set by data.positive_class"
    negations = [is_negation(n) for n in names]
    if sum(negations) == 1:
        negative = names[negations.index(True)]
        return names[negations.index(False)], f"the other label, {negative!r}, is a negation"
    raise ConfigError(
        f"data.positive_class is needed: {f'column {label!r} has' if label else 'the data has'} the labels "
        f"{names[0]!r} and {names[1]!r}, and "
        f"{'both read' if all(negations) else 'neither reads'} as a negation ('no ...', 'negative', 'normal', "
        f"'healthy', 'benign', 0/false), so meddl cannot tell which one is the condition. Sensitivity, PPV and "
        f"the threshold are about the positive class: set data.positive_class to {names[0]!r} or {names[1]!r}."
    )


def apply_label_map(labels, label_map: Mapping[str, str] | None, *, label: str = "label") -> np.ndarray:
    """Replace labels by ``label_map`` (``data.label_map``: spelling -> class); other labels stay as they are.

    Keys are compared with the labels as text, so ``{"1": "disease"}`` maps the number 1 too.

    Raises:
        ConfigError: if a key of ``label_map`` is not a label in the data (likely a typo in the config).
    """
    values = np.asarray(labels, dtype=object)
    if not label_map:
        return values
    as_text = pd.Series(values).astype(str)
    unused = sorted(set(map(str, label_map)) - set(as_text.unique()))
    if unused:
        raise ConfigError(f"data.label_map maps {unused[:_MAX_NAMES_LISTED]}, which are not labels in column "
                          f"{label!r}; each key must be a label as written in the data.")
    mapping = {str(k): v for k, v in label_map.items()}
    mapped = as_text.map(mapping)
    return np.where(mapped.notna().to_numpy(), mapped.to_numpy(dtype=object), values)


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, stopping early once it exceeds ``limit`` (labels are short and few)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _rows(count: int) -> str:
    return f"{count} row" + ("" if count == 1 else "s")


def check_label_spellings(labels, *, label: str = "label") -> None:
    """Refuse labels that are spelling variants of one class, naming them and the fix (``data.label_map``).

    Two checks, on the distinct labels only (fast on any number of rows):

    * labels that differ only in case or surrounding spaces ('Cancer', 'cancer ');
    * a rare class (fewer than :data:`RARE_CLASS_ROWS` rows) one or two edits from a
      larger class ('cancr', 1 row, next to 'cancer'); one edit for labels of up to
      four characters, and never for numeric labels (1 and 2 are not typos of each other).

    Raises:
        DataError: listing each suspect label with its row count and the class it
            resembles, and a ``label_map`` that would merge them.
    """
    counts = pd.Series(np.asarray(labels, dtype=object)).astype(str).value_counts()
    if len(counts) < 2:
        return
    problems, merges = [], {}
    normalised = pd.Series(counts.index, index=counts.index).str.strip().str.casefold()
    for _, group in normalised.groupby(normalised.to_numpy()):
        if len(group) > 1:
            spellings = sorted(group.index, key=lambda name: -counts[name])
            problems.append(" / ".join(f"{name!r} ({_rows(counts[name])})" for name in spellings)
                            + " differ only in case or spaces")
            merges.update({name: spellings[0] for name in spellings[1:]})
    numeric = pd.to_numeric(pd.Series(counts.index), errors="coerce").notna().to_numpy()
    if not numeric.all():
        names = [n for n, is_number in zip(counts.index, numeric) if not is_number and n not in merges]
        for rare in (n for n in names if counts[n] < RARE_CLASS_ROWS):
            limit = 1 if len(rare.strip()) <= 4 else 2
            near = [other for other in names if other != rare and counts[other] > counts[rare]
                    and _edit_distance(rare.strip().casefold(), other.strip().casefold(), limit) <= limit]
            if near:
                target = max(near, key=lambda other: counts[other])
                problems.append(f"{rare!r} ({_rows(counts[rare])}) is close to {target!r} "
                                f"({_rows(counts[target])})")
                merges[rare] = target
    if problems:
        listed = "; ".join(problems[:_MAX_NAMES_LISTED]) + (f"; and {len(problems) - _MAX_NAMES_LISTED} more"
                                                            if len(problems) > _MAX_NAMES_LISTED else "")
        example = ", ".join(f"{k!r}: {v!r}" for k, v in list(merges.items())[:_MAX_NAMES_LISTED])
        raise DataError(
            f"Label column {label!r} has labels that look like spellings of one class: {listed}. Each would "
            f"become a class of its own. Correct them in the data, or merge them with data.label_map in the "
            f"config, e.g. label_map: {{{example}}}. (A class with fewer than {RARE_CLASS_ROWS} rows cannot be "
            f"learnt or evaluated; if one is real, it needs more rows.)"
        )
