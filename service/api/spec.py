"""openapi.yaml is generated from the registered operations and their marshmallow schemas.

`python -m service openapi` writes it; the committed file is what the service serves and what
the tests validate every response against. A test fails when the two drift apart.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

import service.api.routes  # noqa: F401  (importing it registers every operation)
from service.api.descriptions import DESCRIPTIONS
from service.api.problems import PROBLEM_TYPES
from service.api.routing import REGISTRY, Operation
from service.api.schemas.common import ProblemSchema
from service.api.summaries_zh import SUMMARIES_ZH

ERROR_TITLES = {
    400: "Malformed request (not UTF-8, not JSON)",
    401: "Missing, unknown, expired or revoked token",
    403: "Your role may not do this here",
    404: "Not found, or outside your organizations",
    409: "Conflicts with the current state",
    304: "Not modified: If-None-Match named the current ETag",
    412: "If-Match names a stale version",
    428: "If-Match required (REQUIRE_IF_MATCH)",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Invalid fields (see `errors`), or an Idempotency-Key reused for another request",
    503: "Unavailable: the database is down or not migrated (with Retry-After), or the "
    "working-day calendar does not know the year",
}
PATH_PARAM = re.compile(r"<(?:(int|string|path):)?(\w+)>")

# operationIds a client generator names its functions by: the handler's name in camelCase,
# except where that name alone would not say what it does.
OPERATION_IDS = {
    "me": "getMe",
    "public_key": "getAuditPublicKey",
    "list_events": "listAuditEvents",
    "verify_trail": "verifyAuditTrail",
    "create_checkpoint": "createAuditCheckpoint",
    "list_checkpoints": "listAuditCheckpoints",
    "latest_tree_head": "getLatestTreeHead",
    "event_proof": "getAuditEventProof",
    "consistency_proof": "getConsistencyProof",
    "open_session": "openBallotSession",
    "get_session": "getBallotSession",
    "get_codes": "getBallotCodes",
    "close_session": "closeBallotSession",
    "count_session": "countBallotSession",
    "void_session": "voidBallotSession",
    "ballot_form": "getBallotForm",
    "bulletin_board": "listCountedReceipts",
    "check_receipt": "checkBallotReceipt",
    "enroll": "enrollOrganizations",
    "amend": "amendCampaign",
    "get_score": "getGradingScore",
    "event_feed": "getEventFeed",
    "create_subscription": "createWebhook",
    "list_subscriptions": "listWebhooks",
    "get_subscription": "getWebhook",
    "pause_subscription": "pauseWebhook",
    "resume_subscription": "resumeWebhook",
    "delete_subscription": "deleteWebhook",
    "list_deliveries": "listWebhookDeliveries",
    "redeliver": "redeliverWebhookDelivery",
    "post_transition": "fireTransition",
    "get_history": "getGradingHistory",
    "bulk_transition": "fireCampaignTransition",
    "approve": "approveApproval",
    "reject": "rejectApproval",
    "health": "getHealth",
    "live": "getLiveness",
    "ready": "getReadiness",
    "list_moves": "listOrganizationMoves",
    "put_report": "putPromotionReport",
    "post_promotion": "decidePromotion",
    "get_notice": "getPublicNotice",
    "put_helpers": "putRectificationHelpers",
    "add_item": "addRectificationItem",
    "approve_plan": "approveRectificationPlan",
    "item_start": "startRectificationItem",
    "item_submit": "submitRectificationItem",
    "item_close": "closeRectificationItem",
    "item_return": "returnRectificationItem",
    "get_ledger": "listRectificationItems",
    "summary": "getSummaryReport",
    "detail": "getDetailReport",
    "poor_list": "getPoorListReport",
    "poor_status": "getPoorStatusReport",
    "progress": "getProgressReport",
    "movement_report": "getMovementReport",
    "problems_report": "getProblemsReport",
    "ranking_report": "getRankingReport",
    "levels_over_years": "getOrganizationLevels",
    "dossier": "getOrganizationDossier",
    "list_tallies": "listBallotTallies",
    "list_sessions": "listBallotSessions",
    "get_vetoes": "getVetoFlags",
    "put_vetoes": "putVetoFlags",
}

# The tags, in Chinese and English, in the order a reader meets them.
TAGS = {
    "organizations": "组织 — organizations: the tree, its moves and imports, 领域",
    "standards": "标准 — standards (indicators and points) and level schemes",
    "campaigns": "活动 — campaigns: scope, phases, weights, quotas, enrollment, amendments",
    "evaluation": "调查、自评、评定 — survey entries, self-ratings, the superior's assessment",
    "ballots": "测评 — ballot sessions, sealed ballots, receipts, paper tallies",
    "gradings": "评定流程 — a grading's state, transitions, history and approvals",
    "decisions": "定级 — decisions, veto flags, quotas",
    "publicity": "公示 — the public notice and complaints",
    "rectification": "整改 — helpers, the plan, items closed when verified",
    "promotion": "晋位 — special reports and promotion",
    "reports": "报表 — 汇总表, 明细表, lists of weak organizations, progress",
    "spotchecks": "抽查 — spot checks from above, drawn verifiably; findings, accountability",
    "inspection": "指导检查组 — inspection groups, their visits, their acceptance (验收)",
    "audit": "审计 — the hash-chained trail, checkpoints, proofs, witnesses",
    "events": "事件 — the event feed and webhooks for portals",
    "access": "账号与权限 — accounts, role grants, grant requests, tokens",
    "calendar": "工作日历 — each year's holidays and 调休 as the 组织部 entered them",
    "meta": "服务 — health and the workflows as data",
}

# Response headers, declared where they are sent.
HEADERS = {
    "ETag": {
        "description": "the resource's version; send it back in If-Match",
        "schema": {"type": "string"},
    },
    "Location": {"description": "where the created resource is read", "schema": {"type": "string"}},
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer"},
    },
    "Idempotent-Replayed": {
        "description": "true: the first answer to this Idempotency-Key, replayed",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "X-Request-Id": {
        "description": "the request's id, as the logs carry it",
        "schema": {"type": "string"},
    },
}


# A real exchange per operation, recorded from the suite (make examples): its request body
# and its answer, secrets blanked.
EXAMPLES_FILE = Path(__file__).with_name("examples.json")


@cache
def _examples() -> dict[str, Any]:
    if not EXAMPLES_FILE.exists():
        return {}
    return dict(json.loads(EXAMPLES_FILE.read_text(encoding="utf-8")))


def _add_example(data: dict[str, Any]) -> None:
    example = _examples().get(data["operationId"])
    if example is None:
        return
    body = data.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and example["request"] is not None:
        body["example"] = example["request"]
    answer = data["responses"].get(str(example["status"]), {}).get("content", {})
    if "application/json" in answer:
        answer["application/json"]["example"] = example["response"]


def _summary(op: Any) -> str:
    """中文 — English: both languages in /docs, Chinese first."""
    chinese = SUMMARIES_ZH.get(operation_id(op.endpoint))
    return f"{chinese} — {op.summary}" if chinese else str(op.summary)


def operation_id(endpoint: str) -> str:
    if endpoint in OPERATION_IDS:
        return OPERATION_IDS[endpoint]
    head, *rest = endpoint.split("_")
    return head + "".join(part.capitalize() for part in rest)


# The operations answering with their resource's version (ETag): the versioned resources.
ETAGGED = frozenset(
    {
        "get_campaign",
        "create_campaign",
        "patch_campaign",
        "open_campaign",
        "close_campaign",
        "get_grading",
        "post_transition",
        "create_organization",
        "get_organization",
        "patch_organization",
        "create_inspection_group",
        "get_inspection_group",
        "patch_inspection_group",
    }
)


# Their answer holds a secret shown once (Cache-Control: no-store): a retry with the same
# Idempotency-Key is answered 409 secret-not-replayed, marked Idempotent-Replayed.
SECRET_ONCE = frozenset({"create_token", "create_subscription"})


def _headers_of(op: Operation, status: int) -> dict[str, Any]:
    names = ["X-Request-Id"]
    if status in (201, 202):
        names.append("Location")
    if (200 <= status < 300 or status == 304) and op.endpoint in ETAGGED:
        names.append("ETag")
    replayed = 200 <= status < 300 or (status == 409 and op.endpoint in SECRET_ONCE)
    if replayed and op.method in ("POST", "PUT", "PATCH"):
        names.append("Idempotent-Replayed")
    if status in (429, 503):
        names.append("Retry-After")
    return {name: HEADERS[name] for name in names}


DESCRIPTION = """\
Backend of 基层党组织分类定级 (classification and grading of grassroots Party organizations).

* Authenticate with `Authorization: Bearer <token>`; tokens are issued per account (or an
  OIDC access token of a configured identity provider). A portal acts for a person with
  `On-Behalf-Of: <username>` when it holds the portal role on that person's organization.
* Outside your organizations' subtree a resource answers 404; inside, a role that may not act
  answers 403.
* Every error is `application/problem+json` (RFC 9457); `errors` names the fields.
* Lists use cursor pagination: pass `next_cursor` back as `cursor`.
* Scores are decimals with at most two places, sent as numbers or strings, returned as strings.
"""


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def replace(m: re.Match[str]) -> str:
        kind, name = m.group(1), m.group(2)
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 1, "maximum": 2147483647}
            if kind == "int"
            else {"type": "string"}
        )
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
        return "{" + name + "}"

    return "/api/v1" + PATH_PARAM.sub(replace, rule), params


def _has_required(schema_cls: type[Schema]) -> bool:
    return any(f.required for f in schema_cls().fields.values())


def _problem_response(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_TITLES.get(status, "Error"),
        "content": {"application/problem+json": {"schema": "Problem"}},
    }


def _operation(op: Operation) -> dict[str, Any]:
    path_params: list[dict[str, Any]]
    _, path_params = _path(op.rule)
    data: dict[str, Any] = {
        "operationId": operation_id(op.endpoint),
        "summary": _summary(op),
        "tags": [op.tag],
        "parameters": list(path_params),
        "responses": {},
    }
    description = op.description or DESCRIPTIONS.get(op.endpoint)
    if description:
        data["description"] = " ".join(description.split())
    if op.query is not None:
        data["parameters"].append({"in": "query", "schema": op.query})
    if op.method == "POST" and op.idempotent:
        data["parameters"].append(
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": "^[!-~]+$",
                },
                "description": "a retry with the same key returns the first answer, "
                "and changes nothing",
            }
        )
    if 412 in op.errors:
        data["parameters"].append(
            {
                "in": "header",
                "name": "If-Match",
                "required": False,
                "schema": {"type": "string"},
                "description": "the ETag you read; a stale one answers 412",
            }
        )
    if op.auth:
        data["parameters"].append(
            {
                "in": "header",
                "name": "On-Behalf-Of",
                "required": False,
                "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._\\-]{1,99}$"},
                "description": "a portal (role portal on the person's organization) acts for "
                "this username: the person's power, cut to the portal's subtree; the audit "
                "trail names the person and the portal (`via`)",
            }
        )
    if not data["parameters"]:
        del data["parameters"]
    errors = set(op.errors)
    if op.auth:
        errors |= {400, 403}  # a malformed On-Behalf-Of; a portal acting beyond its grant
    if op.body is not None:
        data["requestBody"] = {
            "required": _has_required(op.body),
            "content": {"application/json": {"schema": op.body}},
        }
        errors |= {400, 413, 415, 422}
    errors.add(422)  # unknown query parameters are refused everywhere
    errors.add(503)  # the database down or not migrated: every endpoint says so
    if 412 in errors:
        errors.add(428)  # with REQUIRE_IF_MATCH, a write without If-Match
    if op.method == "GET":
        errors.add(304)  # If-None-Match naming the ETag the answer carries
    if op.method in ("POST", "PATCH") and op.body is None:
        errors |= {400, 413, 415}
    if op.method in ("POST", "PUT", "PATCH"):
        errors |= {400, 409}  # malformed Idempotency-Key; a concurrent first use of the key
    for status, schema in op.responses.items():
        if status >= 400:
            errors.add(status)
            continue
        entry: dict[str, Any] = {
            "description": {201: "Created", 202: "Accepted: waiting for approval"}.get(status, "OK")
        }
        if schema is not None:
            entry["content"] = {"application/json": {"schema": schema}}
        entry["headers"] = _headers_of(op, status)
        data["responses"][str(status)] = entry
    for status in sorted(errors):
        data["responses"][str(status)] = (
            {"description": ERROR_TITLES[304]} if status == 304 else _problem_response(status)
        )
        data["responses"][str(status)]["headers"] = _headers_of(op, status)
    if op.auth:
        data["security"] = [{"bearerAuth": []}]
    else:
        data["security"] = []
    data.update(op.spec_extra)
    _add_example(data)
    for media_type in op.spec_extra.get("x-streamed-formats", []):
        data["responses"]["200"].setdefault("content", {})[media_type] = {
            "schema": {"type": "string"}
        }
    return data


def build_spec() -> dict[str, Any]:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="基层党组织分类定级 API",
        version="1.0.0",
        openapi_version="3.1.0",
        plugins=[plugin],
        info={"description": DESCRIPTION},
        servers=[{"url": "/"}],
        tags=[{"name": name, "description": text} for name, text in TAGS.items()],
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=ProblemSchema)
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(REGISTRY, key=lambda o: (o.rule, o.method)):
        path, _ = _path(op.rule)
        paths.setdefault(path, {})[op.method.lower()] = _operation(op)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    generated = spec.to_dict()
    first = ("openapi", "info", "servers")
    result = {k: generated[k] for k in first if k in generated}
    result.update({k: v for k, v in generated.items() if k not in first})
    result["x-problem-types"] = {f"/problems/{k}": v[0] for k, v in PROBLEM_TYPES.items()}
    return result


def render_yaml() -> str:
    header = "# Generated by `python -m service openapi` (make openapi). Do not edit by hand.\n"
    return header + yaml.safe_dump(build_spec(), allow_unicode=True, sort_keys=False, width=100)
