"""Every lifecycle the service runs, by name (served at /api/v1/workflows/{name})."""

from __future__ import annotations

from service.accounts.workflow import GRANT_REQUEST_WORKFLOW
from service.audit.witness_workflow import WITNESS_WORKFLOW
from service.ballots.workflow import BALLOT_SESSION_WORKFLOW
from service.campaigns.workflow import CAMPAIGN_WORKFLOW
from service.events.workflow import WEBHOOK_DELIVERY_WORKFLOW, WEBHOOK_SUBSCRIPTION_WORKFLOW
from service.lifecycle.workflow import APPROVAL_WORKFLOW, GRADING_WORKFLOW
from service.organizations.workflow import ORGANIZATION_WORKFLOW
from service.publicity.workflow import COMPLAINT_WORKFLOW
from service.rectification.workflow import (
    RECTIFICATION_ITEM_WORKFLOW,
    RECTIFICATION_PLAN_WORKFLOW,
)
from service.spotchecks.workflow import SPOT_CHECK_WORKFLOW
from service.workflows.engine import Workflow

WORKFLOWS: dict[str, Workflow] = {
    w.spec.name: w
    for w in (
        CAMPAIGN_WORKFLOW,
        GRADING_WORKFLOW,
        BALLOT_SESSION_WORKFLOW,
        COMPLAINT_WORKFLOW,
        APPROVAL_WORKFLOW,
        RECTIFICATION_PLAN_WORKFLOW,
        RECTIFICATION_ITEM_WORKFLOW,
        GRANT_REQUEST_WORKFLOW,
        SPOT_CHECK_WORKFLOW,
        WITNESS_WORKFLOW,
        ORGANIZATION_WORKFLOW,
        WEBHOOK_SUBSCRIPTION_WORKFLOW,
        WEBHOOK_DELIVERY_WORKFLOW,
    )
}
