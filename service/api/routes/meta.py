from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import Schema, fields

from service import migrate
from service.api.blueprint import api
from service.api.routing import Ctx, operation
from service.catalogue import WORKFLOWS
from service.errors import DatabaseUnavailable, NotFound


class HealthOut(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)
    schema_revision = fields.String(allow_none=True, required=True)


class GuardOut(Schema):
    code = fields.String(required=True)
    message_zh = fields.String(required=True)
    message_en = fields.String(required=True)


class TransitionOut(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    source = fields.String(required=True)
    dest = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    automatic = fields.Boolean(
        required=True,
        metadata={"description": "fired by the service itself (its worker), by no role"},
    )
    needs_reason = fields.Boolean(required=True)
    needs_approval = fields.Boolean(required=True)
    duty = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "the superior's duty the step is (ballot, decision …): by default "
            "fired only by a role holder above the organization, never by someone homed in it"
        },
    )
    guards = fields.List(fields.Nested(GuardOut), required=True)


class StateOut(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)


class WorkflowOut(Schema):
    name = fields.String(required=True)
    initial = fields.String(required=True)
    states = fields.List(fields.Nested(StateOut), required=True)
    transitions = fields.List(fields.Nested(TransitionOut), required=True)
    mermaid = fields.String(required=True)


@operation(
    api,
    "GET",
    "/health",
    summary="Readiness, as /health/ready (kept for existing monitors)",
    tag="meta",
    auth=False,
    responses={200: HealthOut, 503: None},
    errors=(),
)
def health(ctx: Ctx) -> Any:
    return _readiness()


def _readiness() -> dict[str, str]:
    why = migrate.not_ready(current_app.extensions["grading.sessions"], hot=True)
    if why is not None:
        raise DatabaseUnavailable(why)
    return {"status": "ok", "database": "ok", "schema_revision": migrate.head()}


class LiveOut(Schema):
    status = fields.String(required=True)


@operation(
    api,
    "GET",
    "/health/live",
    summary="Liveness: the process answers (no database call) — for a restart policy",
    tag="meta",
    auth=False,
    responses={200: LiveOut},
    errors=(),
)
def live(ctx: Ctx) -> Any:
    return {"status": "ok"}


@operation(
    api,
    "GET",
    "/health/ready",
    summary="Readiness: the database answers and is at the code's revision — for a load balancer",
    tag="meta",
    auth=False,
    responses={200: HealthOut, 503: None},
    errors=(),
)
def ready(ctx: Ctx) -> Any:
    return _readiness()


@operation(
    api,
    "GET",
    "/workflows/<name>",
    summary="A state machine: states, transitions, guards, roles and its Mermaid drawing",
    tag="meta",
    auth=False,
    responses={200: WorkflowOut},
    errors=(404,),
)
def get_workflow(ctx: Ctx, name: str) -> Any:
    workflow = WORKFLOWS.get(name)
    if workflow is None:
        raise NotFound(f"no workflow named {name!r}; known: {', '.join(sorted(WORKFLOWS))}")
    spec = workflow.spec
    return {
        "name": spec.name,
        "initial": spec.initial,
        "states": [{"name": s.name, "label": s.label} for s in spec.states],
        "transitions": [
            {
                "name": t.name,
                "label": t.label,
                "source": t.source,
                "dest": t.dest,
                "roles": [str(r) for r in t.roles],
                "automatic": t.automatic,
                "needs_reason": t.needs_reason,
                "needs_approval": t.needs_approval,
                "duty": t.duty,
                "guards": [g.refusal().as_dict() for g in t.guards],
            }
            for t in spec.transitions
        ],
        "mermaid": workflow.mermaid(),
    }
