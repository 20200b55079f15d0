"""Answering a complaint during publicity (公示): the findings and the reply, and — when it is
upheld — the grading goes to complaint review (投诉复核) and a supervisor is asked to send it back
to superior review, with the complaint as the reason."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.context import Actor
from service.gradings.approvals import request_approval
from service.lifecycle.operations import fire
from service.publicity import operations as publicity
from service.publicity.models import Complaint
from service.workflows.states import GradingState


def answer(
    session: Session,
    actor: Actor,
    complaint: Complaint,
    findings: str,
    reply: str,
    upheld: bool,
) -> Complaint:
    grading = publicity.record_answer(session, actor, complaint, findings, reply, upheld)
    if upheld:
        reason = f"投诉#{complaint.id}成立：{findings}"
        if grading.state == GradingState.PUBLICITY:
            fire(session, actor, grading, "receive_complaint", reason)
        request_approval(
            session,
            actor,
            grading,
            kind="transition",
            subject="uphold_complaint",
            payload={"complaint_id": complaint.id},
            reason=reason,
        )
    return complaint
