"""How a workflow is declared: states, transitions, who may fire them, guards with reasons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.errors import Conflict, TransitionNotAllowed


@dataclass(frozen=True)
class Refusal:
    """Why a transition cannot fire: a stable code plus Chinese and English text, and where
    the guard can say more (e.g. which scope's quota), a detail."""

    code: str
    message_zh: str
    message_en: str
    detail: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message_zh": self.message_zh, "message_en": self.message_en}
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class Guard:
    code: str
    message_zh: str
    message_en: str
    check: Callable[[Any, Any], bool]  # (subject, context) -> holds?
    explain: Callable[[Any, Any], str | None] | None = None  # what failed, when it does
    # Takes row locks while firing (counts across subjects): the firing request must not hold
    # its audit chain's lock before it (service.audit.operations.claim_head), lest two such
    # requests wait for each other.
    locks: bool = False

    def refusal(self, subject: Any = None, context: Any = None) -> Refusal:
        detail = self.explain(subject, context) if self.explain and subject is not None else None
        return Refusal(self.code, self.message_zh, self.message_en, detail)


@dataclass(frozen=True)
class StateSpec:
    """A state and what holds while a subject is in it (the grading's facts; others use none).

    phase: the campaign phase whose deadline applies; records: the stage records written in
    this state without a supervisor's approval; level_stands: a decided level stands (it
    counts toward quotas); noticed: under publicity (on the public notice, complaints taken).
    """

    name: str
    label: str
    phase: str | None = None
    records: tuple[str, ...] = ()
    level_stands: bool = False
    noticed: bool = False


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    source: str
    dest: str
    label: str
    roles: tuple[str, ...]  # who may fire it: service.accounts.models.Role values
    guards: tuple[Guard, ...] = ()
    needs_reason: bool = False
    needs_approval: bool = False
    # The superior's duty this step is (a value of service.campaigns.procedure.Duty), checked by the
    # API with the roles: who holds the role on the graded organization itself may not fire it.
    duty: str | None = None
    # Fired by the service itself (the worker), never by a person: no role, no endpoint.
    automatic: bool = False

    @property
    def takes_locks(self) -> bool:
        return any(g.locks for g in self.guards)


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    label: str
    attribute: str  # the subject's attribute holding the state
    initial: str
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    # What firing from the wrong state answers (each lifecycle keeps its own problem type).
    wrong_state: type[Conflict] = TransitionNotAllowed

    def transition(self, name: str) -> TransitionSpec | None:
        return next((t for t in self.transitions if t.name == name), None)

    def state_label(self, name: str) -> str:
        return next((s.label for s in self.states if s.name == name), name)
