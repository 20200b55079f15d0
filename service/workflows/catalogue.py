"""Every lifecycle the service runs, by name (served at /api/v1/workflows/{name})."""

from __future__ import annotations

from service.workflows.approval import APPROVAL_WORKFLOW
from service.workflows.ballot_session import BALLOT_SESSION_WORKFLOW
from service.workflows.campaign import CAMPAIGN_WORKFLOW
from service.workflows.complaint import COMPLAINT_WORKFLOW
from service.workflows.engine import Workflow
from service.workflows.grading import GRADING_WORKFLOW
from service.workflows.grant_request import GRANT_REQUEST_WORKFLOW
from service.workflows.rectification_item import RECTIFICATION_ITEM_WORKFLOW
from service.workflows.spot_check import SPOT_CHECK_WORKFLOW
from service.workflows.witness import WITNESS_WORKFLOW

WORKFLOWS: dict[str, Workflow] = {
    w.spec.name: w
    for w in (
        CAMPAIGN_WORKFLOW,
        GRADING_WORKFLOW,
        BALLOT_SESSION_WORKFLOW,
        COMPLAINT_WORKFLOW,
        APPROVAL_WORKFLOW,
        RECTIFICATION_ITEM_WORKFLOW,
        GRANT_REQUEST_WORKFLOW,
        SPOT_CHECK_WORKFLOW,
        WITNESS_WORKFLOW,
    )
}
