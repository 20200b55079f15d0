"""A witness's registration (docs/decisions/0034): an admin at the root asks, a second admin at
the root — not the one who asked — approves it (its cosignatures count from then) or rejects it
with a reason.

The role is named by its value: the audit log sits below the accounts package (the layers are
in docs/architecture.md), and tests/test_architecture.py holds the name to accounts' Role."""

from __future__ import annotations

from service.workflows.approval import second_person
from service.workflows.engine import Workflow

ADMIN = "admin"  # service.accounts.models.Role.ADMIN
WITNESS_SPEC = second_person("witness", "见证人登记", ADMIN, "批准登记", "驳回登记")
WITNESS_WORKFLOW = Workflow(WITNESS_SPEC)
