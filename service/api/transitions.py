"""One transition endpoint per lifecycle: `POST …/{id}/transitions` with
`{"transition": name, …the step's own fields}`, the shape a grading's transitions have.

Generated from the verb endpoints that declare what they fire (`operation(…, fires=…)`): the
verb's path without its last segment, plus `/transitions`. A request runs the verb's own
handler — its scope, roles, duties, checks and audit event; no second path to authorize — with
the rest of the body loaded by the verb's own schema. The verb paths stay, as documented
aliases (portals use them). Campaigns keep `…/open` and `…/close` only: `/campaigns/{id}/
transitions` is the bulk transition of a campaign's gradings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from marshmallow import INCLUDE, Schema, fields, validate

from service.api.bodies import schema_of
from service.api.loading import load
from service.api.routing import REGISTRY, Ctx, Operation, operation, render
from service.errors import ValidationFailed
from service.workflows.engine import Workflow


def serve_one_endpoint_per_lifecycle(bp: Blueprint) -> None:
    """After every route module has registered its verbs: one …/transitions per verb family."""
    families: dict[str, list[Operation]] = {}
    for op in list(REGISTRY):
        if op.fires:
            families.setdefault(op.rule.rsplit("/", 1)[0], []).append(op)
    for prefix, verbs in families.items():
        _serve(bp, prefix, verbs)


def _serve(bp: Blueprint, prefix: str, verbs: list[Operation]) -> None:
    workflow = verbs[0].fires[0]
    assert all(v.fires[0] == workflow for v in verbs), f"{prefix}: verbs of two lifecycles"
    by_name = {name: verb for verb in verbs for name in verb.fires[1:]}
    title = "".join(part.title() for part in workflow.split("_"))
    body: type[Schema] = type(
        f"{title}TransitionIn",
        (Schema,),
        {
            "transition": fields.String(
                required=True,
                validate=validate.OneOf(sorted(by_name)),
                metadata={"description": f"a transition of /api/v1/workflows/{workflow}"},
            ),
            # the step's own fields, loaded by the verb's schema
            "Meta": type("Meta", (), {"unknown": INCLUDE}),
        },
    )
    steps = "; ".join(
        f"`{name}`: as POST {verb.rule.replace('<', '{').replace('>', '}')}"
        + (f" (fields of {verb.body.__name__.removesuffix('Schema')})" if verb.body else "")
        for name, verb in sorted(by_name.items())
    )
    responses: dict[int, type[Schema] | None] = {}
    for verb in verbs:
        responses.update(verb.responses)
    errors = tuple(sorted({e for verb in verbs for e in verb.errors if e != 401} | {422}))
    if any(verb.description and "superior-duty" in verb.description for verb in verbs):
        steps += (
            "; a step that is the superior's duty answers 403 superior-duty to the graded "
            "organization's own people, as at its own path"
        )
    handler = _handler(by_name)
    handler.__name__ = f"fire_{workflow}_transition"
    operation(
        bp,
        "POST",
        f"{prefix}/transitions",
        summary=f"Fire a transition of the {workflow.replace('_', ' ')} (one endpoint for its "
        "steps)",
        tag=verbs[0].tag,
        body=body,
        responses=responses,
        errors=errors,
        description=f"The lifecycle's steps at one path, each as its own endpoint does it "
        f"(the same roles, checks and answer): {steps}.",
    )(handler)


def as_asked(ctx: Ctx, workflow: Workflow, state: str, step: str) -> str:
    """The step a verb takes from `state` (one verb for several transitions, e.g. void and
    void_closed) — and at …/transitions, the engine's wrong state if another was asked for."""
    if ctx.transition is not None and ctx.transition != step:
        workflow.starting(state, ctx.transition)
    return step


def _handler(by_name: dict[str, Operation]) -> Callable[..., Any]:
    def handler(ctx: Ctx, **path: Any) -> Any:
        rest = dict(ctx.body)
        name = rest.pop("transition")
        verb = by_name[name]
        if verb.body is not None:
            ctx.body = load(schema_of(verb.body), rest)
        elif rest:
            raise ValidationFailed(
                f"{name} takes no fields besides transition",
                errors={key: ["unknown field"] for key in rest},
            )
        else:
            ctx.body = {}
        ctx.transition = name
        assert verb.handler is not None
        return render(verb.handler(ctx, **path), verb.responses)

    return handler
