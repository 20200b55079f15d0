from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.api.schemas.common import (
    PageQuery,
    id_field,
    nullable_date,
    query_id,
    sort_field,
    strict_int,
    text,
    total_field,
)
from service.organizations.models import KIND_LABELS, OrgKind, OrgStatus

KINDS = [k.value for k in OrgKind]
STATUSES = [s.value for s in OrgStatus]
CODE = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$", error="letters, digits, '.', '_' or '-', at most 64"
)

EMAIL = fields.Email(
    allow_none=True,
    validate=validate.Length(max=200),
    metadata={"description": "联系邮箱: due-soon and overdue reminders (when e-mail is on)"},
)


class CommitteeMemberIn(Schema):
    name = text(100, required=True)
    post = text(40, required=True, metadata={"description": "书记, 副书记, 组织委员 …"})


class CommitteeMemberOut(Schema):
    name = fields.String(required=True)
    post = fields.String(required=True)


class BranchProfileIn(Schema):
    """支部基本情况: the roll, the committee and its term (with the organization's other fields)."""

    member_count = strict_int(
        minimum=0,
        maximum=1_000_000,
        metadata={"description": "党员数; with full_members and probationary_members: their sum"},
    )
    full_members = strict_int(
        allow_none=True, minimum=0, maximum=1_000_000, metadata={"description": "正式党员"}
    )
    probationary_members = strict_int(
        allow_none=True, minimum=0, maximum=1_000_000, metadata={"description": "预备党员"}
    )
    committee_members = fields.List(
        fields.Nested(CommitteeMemberIn),
        allow_none=True,
        validate=validate.Length(max=15),
        metadata={"description": "支委: name and post (书记, 组织委员, 宣传委员 …)"},
    )
    elected_on = nullable_date(metadata={"description": "换届: when this committee was elected"})


class OrganizationCreate(BranchProfileIn):
    code = fields.String(required=True, validate=CODE)
    name = text(200, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    grassroots = fields.Boolean(
        metadata={
            "description": "基层党委: a committee that is itself a grassroots organization "
            "(a village's, a company's, a school's), graded like a branch; needs a 领域"
        }
    )
    parent_id = id_field(required=True)
    domain = fields.String(
        allow_none=True,
        validate=validate.Length(max=30),
        metadata={"description": "领域 code, see GET /api/v1/domains"},
    )
    coordination_area = text(100, allow_none=True, metadata={"description": "协作区"})
    secretary = text(100, allow_none=True, metadata={"description": "书记"})
    contact_email = EMAIL
    notice_contact = text(
        300,
        allow_none=True,
        metadata={
            "description": "公示 contact printed on the notice: 电话、地址、信箱 (a committee's)"
        },
    )
    founded_on = nullable_date()


class OrganizationPatch(BranchProfileIn):
    name = text(200)
    kind = fields.String(validate=validate.OneOf(KINDS))
    grassroots = fields.Boolean(
        metadata={
            "description": "基层党委: a committee that is itself a grassroots organization "
            "(a village's, a company's, a school's), graded like a branch; needs a 领域"
        }
    )
    parent_id = id_field(metadata={"description": "moves the organization (history kept)"})
    domain = fields.String(allow_none=True, validate=validate.Length(max=30))
    coordination_area = text(100, allow_none=True)
    secretary = text(100, allow_none=True)
    contact_email = EMAIL
    notice_contact = text(
        300,
        allow_none=True,
        metadata={
            "description": "公示 contact printed on the notice: 电话、地址、信箱 (a committee's)"
        },
    )
    founded_on = nullable_date()
    status = fields.String(
        validate=validate.OneOf(STATUSES[1:]),
        metadata={"description": "merged or dissolved; never deleted"},
    )
    merged_into_id = id_field(allow_none=True)
    reason = text(2000, allow_none=True)


class OrganizationOut(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    kind_label = fields.Method("_kind_label", required=True)
    grassroots = fields.Boolean(required=True, metadata={"description": "基层党委: graded"})
    parent_id = fields.Integer(allow_none=True, required=True)
    domain = fields.String(allow_none=True, required=True)
    coordination_area = fields.String(allow_none=True, required=True)
    secretary = fields.String(allow_none=True, required=True)
    contact_email = fields.String(allow_none=True, required=True)
    notice_contact = fields.String(allow_none=True, required=True)
    member_count = fields.Integer(required=True)
    full_members = fields.Integer(allow_none=True, required=True)
    probationary_members = fields.Integer(allow_none=True, required=True)
    committee_members = fields.List(
        fields.Nested(CommitteeMemberOut), allow_none=True, required=True
    )
    elected_on = fields.Date(allow_none=True, required=True)
    founded_on = fields.Date(allow_none=True, required=True)
    status = fields.String(required=True)
    merged_into_id = fields.Integer(allow_none=True, required=True)
    depth = fields.Integer(required=True)
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)

    def _kind_label(self, org: object) -> str:
        if getattr(org, "grassroots", False):
            return "基层党委"
        return KIND_LABELS[OrgKind(org.kind)]  # type: ignore[attr-defined]


class OrganizationPage(Schema):
    items = fields.List(fields.Nested(OrganizationOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


class OrganizationListQuery(PageQuery):
    sort = sort_field("name", "code")
    within = query_id(
        metadata={"description": "only this organization's subtree (itself included)"},
    )
    parent_id = query_id(metadata={"description": "direct children"})
    kind = fields.String(validate=validate.OneOf(KINDS))
    domain = fields.String(validate=validate.Length(max=30))
    status = fields.String(validate=validate.OneOf(STATUSES))
    q = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "name contains"}
    )


class MoveOut(Schema):
    id = fields.Integer(required=True)
    from_parent_id = fields.Integer(allow_none=True, required=True)
    to_parent_id = fields.Integer(allow_none=True, required=True)
    moved_at = fields.DateTime(required=True)
    moved_by = fields.String(required=True)
    reason = fields.String(allow_none=True, required=True)


class MoveList(Schema):
    items = fields.List(fields.Nested(MoveOut), required=True)


class ImportQuery(Schema):
    dry_run = fields.Boolean(metadata={"description": "check and report, write nothing"})


class ImportReportOut(Schema):
    rows = fields.Integer(required=True)
    created = fields.List(fields.String(), required=True)
    updated = fields.List(fields.String(), required=True)
    moved = fields.List(fields.String(), required=True)
    unchanged = fields.List(fields.String(), required=True)
    dry_run = fields.Boolean(required=True)


class DomainOut(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class DomainList(Schema):
    items = fields.List(fields.Nested(DomainOut), required=True)
