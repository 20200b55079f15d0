"""A spot check's finding (抽查): written once; a falsification asks for the decided level to be
reopened — superior review again, once a supervisor approves — while the level stands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from service.context import Actor
from service.gradings.models import Approval
from service.lifecycle.operations import request_transition
from service.spotchecks import operations as spotchecks
from service.spotchecks.models import SpotCheck, SpotCheckItem


def record_finding(
    session: Session,
    actor: Actor,
    check: SpotCheck,
    item: SpotCheckItem,
    body: Mapping[str, Any],
) -> Approval | None:
    grading = spotchecks.write_finding(session, actor, check, item, body)
    reopen = spotchecks.REOPEN.get(grading.state)
    if item.outcome != "falsified" or reopen is None:
        return None
    reason = f"抽查#{check.id}发现弄虚作假：{item.description}"
    return request_transition(session, actor, grading, reopen, reason).approval
