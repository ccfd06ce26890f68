"""The exceptions for bad input, and the one line that tells a user what is wrong with a file."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


class InputError(Exception):
    """Bad input a user can fix: the message names the file and the problem."""


class BandChoiceError(InputError):
    """An image whose red, green and blue bands are not known without a choice, or a choice it
    cannot meet: the caller adds the setting that makes the choice."""


class StaleInputError(InputError):
    """Input files that do not belong together: made from different runs (a vocabulary and a
    feature file of other images, a decoder of another vocabulary). Making them again fixes it."""


def explain(error: Mapping[str, Any], model: type[BaseModel], where: str) -> str:
    """One of pydantic's errors (``ValidationError.errors()[k]``) against ``model`` as one line:
    ``where: key must be <the field's description>, not <the value>``, the key dotted with list items
    by index (``sentences[0].tokens[1]``); a missing or unknown key, or a validator's own message,
    said as such."""
    loc, kind, given = error["loc"], error["type"], error.get("input")
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    subject = f"{where}: {key}" if key else where
    if kind == "missing":
        return f"{subject} is missing"
    if kind == "extra_forbidden":
        return f"{subject} is not a parameter of this pipeline (a typo, or a key of another version?)"
    if kind == "value_error":
        return f"{subject} {error['ctx']['error']}"
    return f"{subject} must be {_description(model, loc)}, not {given!r}"


def _description(annotation, loc: tuple) -> str:
    """What the value at ``loc`` in ``annotation`` must be: the description of the innermost field
    (or list item) on the way that has one."""
    description = "valid"
    for part in loc:
        while get_origin(annotation) in (Union, types.UnionType):  # X | None: X
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        if isinstance(part, str) and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                break
            description, annotation = field.description or description, field.annotation
        elif isinstance(part, int) and get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
            if get_origin(annotation) is Annotated:
                annotation, *meta = get_args(annotation)
                description = next((m.description for m in meta if getattr(m, "description", None)), description)
        else:
            break
    return description
