"""An organization's standing in the tree: active, then merged into another (合并) or dissolved
(撤销) — once, for good (PATCH /organizations/{id} with a status, by an admin of its subtree).

The role is named by its value: the organizations sit a layer below the accounts
(docs/architecture.md); tests/test_architecture.py holds the name to accounts' Role."""

from __future__ import annotations

from service.errors import OrganizationInactive
from service.organizations.models import OrgStatus
from service.workflows.engine import Workflow
from service.workflows.spec import StateSpec, TransitionSpec, WorkflowSpec

ADMIN = "admin"  # service.accounts.models.Role.ADMIN
# The transition that takes an active organization to each status it may end in.
TO_STATUS = {OrgStatus.MERGED: "merge", OrgStatus.DISSOLVED: "dissolve"}

ORGANIZATION_SPEC = WorkflowSpec(
    name="organization",
    label="党组织存续状态",
    attribute="status",
    initial=OrgStatus.ACTIVE,
    states=(
        StateSpec(OrgStatus.ACTIVE, "正常"),
        StateSpec(OrgStatus.MERGED, "已合并"),
        StateSpec(OrgStatus.DISSOLVED, "已撤销"),
    ),
    transitions=(
        TransitionSpec("merge", OrgStatus.ACTIVE, OrgStatus.MERGED, "合并", (ADMIN,)),
        TransitionSpec("dissolve", OrgStatus.ACTIVE, OrgStatus.DISSOLVED, "撤销", (ADMIN,)),
    ),
    wrong_state=OrganizationInactive,
)
ORGANIZATION_WORKFLOW = Workflow(ORGANIZATION_SPEC)
