"""Runs a WorkflowSpec with one shared `transitions.Machine` per workflow.

As the pytransitions FAQ does for many records: the machine is built once with `model=None`
and fires `machine.events[name].trigger(record)` on the record itself, whose state attribute
(`model_attribute`) it reads and writes — no handle, no add_model/remove_model, no lock.
The database transaction, not the machine, is the unit of atomicity: the caller's unit of
work commits or rolls back the state change together with its data and audit event, and row
versions / locks make it safe across processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from transitions import Machine

from service.errors import TransitionBlocked, ValidationFailed
from service.workflows.spec import Refusal, TransitionSpec, WorkflowSpec
from service.workflows.writes import moving


class Principal(Protocol):
    """Who fires (service.accounts.access.Principal is one): raises unless they hold one of
    `roles` at `place` — the engine knows no more of accounts or organizations."""

    def require(self, place: Any, roles: Sequence[Any], what: str) -> Any: ...


@dataclass
class Availability:
    transition: TransitionSpec
    refusals: list[Refusal]


class Workflow:
    def __init__(self, spec: WorkflowSpec) -> None:
        self.spec = spec
        # Plain strings: `transitions` would name an Enum state by its member name.
        self.machine = Machine(
            model=None,
            states=[str(s.name) for s in spec.states],
            transitions=[
                {"trigger": t.name, "source": str(t.source), "dest": str(t.dest)}
                for t in spec.transitions
            ],
            initial=str(spec.initial),
            auto_transitions=False,
            send_event=True,
            model_attribute=spec.attribute,
        )

    def state_of(self, subject: Any) -> str:
        return str(getattr(subject, self.spec.attribute))

    def transition(self, name: str) -> TransitionSpec:
        transition = self.spec.transition(name)
        if transition is None:
            raise ValidationFailed(
                f"{self.spec.name} has no transition {name!r}",
                errors={"transition": [f"unknown transition {name!r}"]},
            )
        return transition

    def authorize(self, principal: Principal, place: Any, name: str) -> TransitionSpec:
        """404 outside the caller's subtree, 403 without a role the transition names."""
        transition = self.transition(name)
        principal.require(place, transition.roles, f"{name} ({transition.label})")
        return transition

    def refusals(self, subject: Any, transition: TransitionSpec, context: Any) -> list[Refusal]:
        return [
            g.refusal(subject, context) for g in transition.guards if not g.check(subject, context)
        ]

    def available(self, subject: Any, context: Any) -> list[Availability]:
        state = self.state_of(subject)
        return [
            Availability(t, self.refusals(subject, t, context))
            for t in self.spec.transitions
            if t.source == state
        ]

    def require_source(self, subject: Any, name: str) -> TransitionSpec:
        """The transition, if it starts from the subject's state; the spec's wrong_state if not."""
        return self.starting(self.state_of(subject), name)

    def starting(self, state: str, name: str) -> TransitionSpec:
        """The transition, if it starts from `state`; the spec's wrong_state if not."""
        transition = self.transition(name)
        if transition.source != state:
            raise self.spec.wrong_state(
                f"{name} starts from {transition.source}, but the {self.spec.name} is {state}",
                detail_zh=f"“{transition.label}”须在“{self.spec.state_label(transition.source)}”"
                f"时进行，现在是“{self.spec.state_label(state)}”",
                state=state,
            )
        return transition

    def check(
        self, subject: Any, name: str, context: Any = None, reason: str | None = None
    ) -> TransitionSpec:
        """Raise what `fire` would raise, without firing."""
        transition = self.require_source(subject, name)
        if transition.needs_reason and not (reason and reason.strip()):
            raise ValidationFailed(
                f"{name} needs a reason", errors={"reason": ["required for this transition"]}
            )
        refusals = self.refusals(subject, transition, context)
        if refusals:
            raise TransitionBlocked(
                "; ".join(r.message_en for r in refusals),
                detail_zh="；".join(r.message_zh for r in refusals),
                reasons=[r.as_dict() for r in refusals],
            )
        return transition

    def fire(self, subject: Any, name: str, context: Any = None, reason: str | None = None) -> str:
        """Check state, reason and guards, then move `subject` to the destination."""
        self.check(subject, name, context, reason)
        return self.apply(subject, name)

    def apply(self, subject: Any, name: str) -> str:
        """Move `subject` along a declared transition from its current state, without its
        guards — `fire` checks them first; tests use this to set a stage up."""
        self.require_source(subject, name)
        with moving(subject):
            self.machine.events[name].trigger(subject)
        return self.state_of(subject)

    def moving_rows(self, name: str) -> tuple[str, str]:
        """(source, destination) of a transition with no guards, for a set-based UPDATE that
        moves rows WHERE their state is the source — rows the caller holds no objects of (the
        worker's deliveries). The statement writes the engine's destination, never a literal."""
        transition = self.transition(name)
        if transition.guards:
            raise ValueError(f"{name} has guards: fire it on each subject")
        return transition.source, transition.dest

    def mermaid(self) -> str:
        lines = ["stateDiagram-v2"]
        for state in self.spec.states:
            lines.append(f"    {state.name}: {state.name} {state.label}")
        lines.append(f"    [*] --> {self.spec.initial}")
        for t in self.spec.transitions:
            marks = "".join(
                [
                    " (需审批 approval)" if t.needs_approval else "",
                    " (需说明理由 reason)" if t.needs_reason else "",
                    " (自动 automatic)" if t.automatic else "",
                ]
            )
            lines.append(f"    {t.source} --> {t.dest}: {t.name} {t.label}{marks}")
        return "\n".join(lines)
