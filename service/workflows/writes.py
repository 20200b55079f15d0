"""Only the workflow engine writes a lifecycle's state column (like django-fsm's protected
FSMField): models route their state attribute through `engine_only`, and the engine marks
the subject it is moving while `transitions` sets the attribute."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import inspect

from service.errors import StateWriteRefused

_MOVING: ContextVar[object | None] = ContextVar("workflow_moving", default=None)


@contextmanager
def moving(subject: object) -> Iterator[None]:
    token = _MOVING.set(subject)
    try:
        yield
    finally:
        _MOVING.reset(token)


def engine_only(initial: str) -> Callable[[Any, str, Any], str]:
    """A validator body for a state column: a new row starts in `initial`; after that only
    the engine, firing a declared transition, changes it."""

    def validate(row: Any, key: str, value: Any) -> str:
        # Stored as the plain string, even when given as a StrEnum member.
        if _MOVING.get() is row or (value == initial and inspect(row).transient):
            return str(value)
        raise StateWriteRefused(
            f"{type(row).__name__}.{key} changes only by firing a transition of its workflow "
            f"(tried to set {value!r})"
        )

    return validate
