"""Runs a WorkflowSpec with one shared `transitions.Machine` per workflow.

The machine is never attached to ORM objects for longer than one firing (pytransitions FAQ:
one machine for all records, add_model with the current state, remove_model afterwards).
The database transaction, not the machine, is the unit of atomicity: the caller's unit of
work commits or rolls back the state change together with its data and audit event.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from transitions import Machine

from service.errors import TransitionBlocked, TransitionNotAllowed, ValidationFailed
from service.workflows.spec import Refusal, TransitionSpec, WorkflowSpec


class _Handle:
    """What the machine sees: a state property that reads and writes the ORM object."""

    def __init__(self, subject: Any, attribute: str) -> None:
        self._subject = subject
        self._attribute = attribute

    @property
    def state(self) -> str:
        return str(getattr(self._subject, self._attribute))

    @state.setter
    def state(self, value: str) -> None:
        setattr(self._subject, self._attribute, value)


@dataclass
class Availability:
    transition: TransitionSpec
    refusals: list[Refusal]


class Workflow:
    def __init__(self, spec: WorkflowSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()  # add_model/remove_model mutate the shared machine
        self.machine = Machine(
            model=None,
            states=[s.name for s in spec.states],
            transitions=[
                {"trigger": t.name, "source": t.source, "dest": t.dest} for t in spec.transitions
            ],
            initial=spec.initial,
            auto_transitions=False,
            send_event=True,
        )

    def state_of(self, subject: Any) -> str:
        return str(getattr(subject, self.spec.attribute))

    def refusals(self, subject: Any, transition: TransitionSpec, context: Any) -> list[Refusal]:
        return [g.refusal() for g in transition.guards if not g.check(subject, context)]

    def available(self, subject: Any, context: Any) -> list[Availability]:
        state = self.state_of(subject)
        return [
            Availability(t, self.refusals(subject, t, context))
            for t in self.spec.transitions
            if t.source == state
        ]

    def check(
        self, subject: Any, name: str, context: Any, reason: str | None = None
    ) -> TransitionSpec:
        """Raise what `fire` would raise, without firing."""
        transition = self.spec.transition(name)
        if transition is None:
            raise ValidationFailed(
                f"{self.spec.name} has no transition {name!r}",
                errors={"transition": [f"unknown transition {name!r}"]},
            )
        state = self.state_of(subject)
        if transition.source != state:
            raise TransitionNotAllowed(
                f"{name} starts from {transition.source}, but the {self.spec.name} is {state}",
                state=state,
            )
        if transition.needs_reason and not (reason and reason.strip()):
            raise ValidationFailed(
                f"{name} needs a reason", errors={"reason": ["required for this transition"]}
            )
        refusals = self.refusals(subject, transition, context)
        if refusals:
            raise TransitionBlocked(
                "; ".join(r.message_en for r in refusals),
                reasons=[r.as_dict() for r in refusals],
            )
        return transition

    def fire(self, subject: Any, name: str, context: Any, reason: str | None = None) -> str:
        """Check state and guards, then move `subject` to the destination; returns it."""
        self.check(subject, name, context, reason)
        state = self.state_of(subject)
        handle = _Handle(subject, self.spec.attribute)
        with self._lock:
            self.machine.add_model(handle, initial=state)
            try:
                self.machine.events[name].trigger(handle)
            finally:
                self.machine.remove_model(handle)
        return self.state_of(subject)

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
                ]
            )
            lines.append(f"    {t.source} --> {t.dest}: {t.name} {t.label}{marks}")
        return "\n".join(lines)
