"""What a transition reads about one grading in one statement (service.api.scope builds it;
on PostgreSQL it also claims the organization's audit chain head), taken apart by name: the
grading's columns, its organization as a Place, the facts its guards read (FACTS, in order) and
the claimed head (chain key, next seq, previous hash)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from service.gradings.facts import FACTS
from service.gradings.models import Grading
from service.organizations.models import Organization, Place

GRADINGS: Table = Grading.__table__  # type: ignore[assignment]
GRADING_KEYS = tuple(str(c.key) for c in GRADINGS.c)
PLACE_COLUMNS = (Organization.id, Organization.name, Organization.path)  # a Place's fields
COLUMNS = (*GRADINGS.c, *PLACE_COLUMNS, *FACTS)  # the claimed head's three follow them

_PLACE = len(GRADING_KEYS)
_FACTS = _PLACE + len(PLACE_COLUMNS)
_CLAIM = _FACTS + len(FACTS)


@dataclass(frozen=True, slots=True)
class GradingLoad:
    values: dict[str, Any]  # the grading's columns by name
    place: Place
    facts: tuple[Any, ...]
    claim: tuple[Any, ...]  # (chain key, seq, previous hash), or Nones

    @classmethod
    def read(cls, row: Sequence[Any]) -> GradingLoad:
        """A row of COLUMNS followed by the claimed head's columns."""
        return cls(
            dict(zip(GRADING_KEYS, row[:_PLACE], strict=True)),
            Place(*row[_PLACE:_FACTS]),
            tuple(row[_FACTS:_CLAIM]),
            tuple(row[_CLAIM:]),
        )
