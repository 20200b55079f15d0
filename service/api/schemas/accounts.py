from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from service.accounts.models import ROLE_LABELS, Role
from service.api.schemas.common import (
    PageQuery,
    id_field,
    query_id,
    sort_field,
    strict_int,
    text,
    total_field,
)
from service.workflows.states import ApprovalState, values

ROLES = [r.value for r in Role]


class GrantIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    organization_id = id_field(required=True)


class AccountCreate(Schema):
    username = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[a-z0-9][a-z0-9._\-]{1,99}$",
            error="2–100 lower-case letters, digits, '.', '_' or '-'",
        ),
    )
    display_name = text(100, required=True)
    organization_id = id_field(required=True, metadata={"description": "home organization"})
    grants = fields.List(fields.Nested(GrantIn), validate=validate.Length(max=20))


class AccountPatch(Schema):
    is_active = fields.Boolean()
    reason = text(2000, allow_none=True)


def _role_label(item: Any) -> str:
    role = item["role"] if isinstance(item, dict) else item.role
    return ROLE_LABELS[Role(role)]


def role_label() -> fields.Function:
    return fields.Function(
        _role_label, required=True, metadata={"type": "string", "description": "书记, 评定人 …"}
    )


class GrantOut(Schema):
    id = fields.Integer(required=True)
    role = fields.String(required=True)
    role_label = role_label()
    organization_id = fields.Integer(required=True)
    granted_at = fields.DateTime(required=True)
    granted_by = fields.String(required=True)
    revoked_at = fields.DateTime(allow_none=True, required=True)
    revoked_by = fields.String(allow_none=True, required=True)


class GrantRequestOut(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(required=True)
    role = fields.String(required=True)
    role_label = role_label()
    organization_id = fields.Integer(required=True)
    state = fields.String(
        required=True,
        metadata={"description": "pending, approved (grant_id names the live grant) or rejected"},
    )
    requested_at = fields.DateTime(required=True)
    requested_by = fields.String(required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)
    decided_by = fields.String(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    grant_id = fields.Integer(allow_none=True, required=True)


class GrantRequestPage(Schema):
    items = fields.List(fields.Nested(GrantRequestOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class GrantRequestQuery(PageQuery):
    state = fields.String(validate=validate.OneOf(values(ApprovalState)))
    within = query_id()


class AccountOut(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    organization_id = fields.Integer(required=True)
    is_active = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    grants = fields.List(fields.Nested(GrantOut), required=True)
    pending_grants = fields.List(
        fields.Nested(GrantRequestOut),
        required=True,
        metadata={"description": "approving roles asked for, waiting for an admin above"},
    )


class AccountPage(Schema):
    items = fields.List(fields.Nested(AccountOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class AccountListQuery(PageQuery):
    sort = sort_field("username")
    within = query_id()


class TokenCreate(Schema):
    name = text(
        100, required=True, metadata={"description": "what the token is for, e.g. the portal"}
    )
    expires_in_days = strict_int(minimum=1, maximum=3650)


class TokenOut(Schema):
    id = fields.Integer(required=True)
    account_id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(
        required=True, metadata={"description": "first characters, to recognise it"}
    )
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(allow_none=True, required=True)
    last_used_at = fields.DateTime(allow_none=True, required=True)


class TokenCreated(TokenOut):
    token = fields.String(required=True, metadata={"description": "shown once; store it now"})


class TokenList(Schema):
    items = fields.List(fields.Nested(TokenOut), required=True)


class MeGrant(Schema):
    role = fields.String(required=True)
    role_label = role_label()
    organization_id = fields.Integer(required=True)


class MeOut(Schema):
    account_id = fields.Integer(required=True)
    username = fields.String(required=True)
    token_id = fields.Integer(allow_none=True, required=True)
    grants = fields.List(fields.Nested(MeGrant), required=True)
    portal_for = fields.List(
        fields.Integer(),
        required=True,
        metadata={"description": "a portal: the organizations whose people it may act for"},
    )
    via = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "On-Behalf-Of: the portal acting for this person"},
    )
