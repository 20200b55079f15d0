"""A witness's registration (docs/decisions/0034): an admin at the root asks, a second admin at
the root — not the one who asked — approves it (its cosignatures count from then) or rejects it
with a reason."""

from __future__ import annotations

from service.accounts.models import Role
from service.workflows.approval import second_person
from service.workflows.engine import Workflow

WITNESS_SPEC = second_person("witness", "见证人登记", Role.ADMIN, "批准登记", "驳回登记")
WITNESS_WORKFLOW = Workflow(WITNESS_SPEC)
