"""Four eyes on power (docs/decisions/0025): a grant of an approving role waits, pending, for an
admin of a higher scope than the requester's — approved (the grant becomes live) or rejected."""

from __future__ import annotations

from service.accounts.models import Role
from service.workflows.approval import second_person
from service.workflows.engine import Workflow

GRANT_REQUEST_SPEC = second_person("grant_request", "授权审批", Role.ADMIN, "批准授权", "驳回授权")
GRANT_REQUEST_WORKFLOW = Workflow(GRANT_REQUEST_SPEC)
