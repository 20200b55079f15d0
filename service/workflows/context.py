"""What a grading guard is given to decide: imports nothing from the domain, so the guards
(service.lifecycle.guards) and the rules they call (service.decisions.rules) share it without
importing each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session


@dataclass
class GuardContext:
    session: Session
    today: date
    publicity_working_days: int
    for_update: bool = False  # True while firing: rules that count across gradings take locks
    # What was loaded with the grading (service.gradings.facts.GradingFacts), or None: the
    # guards read what they need from the database.
    facts: Any = None


Check = Callable[[Any, GuardContext], bool]
