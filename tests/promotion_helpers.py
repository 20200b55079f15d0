"""Promotion (晋位升级) in tests: a grading promoting, its report, opinions, the satisfaction
ballot."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.campaigns.models import Campaign
from service.context import Actor
from service.gradings import records
from service.gradings.models import Grading
from tests.ballot_helpers import attend, cast, codes_of
from tests.conftest import Api
from tests.grading_helpers import walk


def promoting(db: Session, grading: Grading, level: str = "poor", item: str = "closed") -> int:
    fresh = db.get_one(Grading, grading.id)
    walk(fresh, "rectification")
    fresh.level = level
    records.write(
        db,
        Actor.system("t"),
        fresh,
        "rectification_item",
        {"problem": "p", "deadline": "2026-06-30", "status": item, "evidence": "e"},
        key="I1",
    )
    walk(fresh, "promotion")
    db.commit()
    return fresh.id


def satisfied(api: Api, grading_id: int, choice: str = "good", *more: str) -> None:
    """A satisfaction meeting (reusing ballot sessions) chaired by the superior: three ballots
    of `choice`, or one ballot per choice given."""
    choices = [choice, *more] if more else [choice] * 3
    session = api.post(
        "/api/v1/ballot-sessions",
        who="teller",
        json={
            "campaign_id": api.world.campaigns["open"].id,
            "title": "群众满意度测评会",
            "grading_ids": [grading_id],
            "categories": [{"code": "public_reps", "issued": len(choices)}],
        },
    ).get_json()
    for row, chosen in zip(codes_of(api, session["id"]), choices, strict=True):
        answer = [{"grading_id": grading_id, "level": chosen}]
        assert cast(api, row["code"], answer).status_code == 201
    api.post(f"/api/v1/ballot-sessions/{session['id']}/close", who="teller")
    attend(api, session["id"])
    counted = api.post(f"/api/v1/ballot-sessions/{session['id']}/count", who="teller")
    assert counted.status_code == 200, counted.get_json()


def report(api: Api, grading_id: int) -> None:
    response = api.put(
        f"/api/v1/gradings/{grading_id}/promotion/report",
        who="secretary",
        json={"text": "一年来整改情况专项述职……", "attachment_ref": "档案室 2026-17"},
    )
    assert response.status_code == 200, response.get_json()


def promote(api: Api, grading_id: int, level: str, reason: str | None = "整改成效明显") -> object:
    return api.post(
        f"/api/v1/gradings/{grading_id}/promotion",
        who="reviewer",
        json={"level": level, "reason": reason},
    )


LEADING_GROUP = {"code": "LG", "name": "县委党建工作领导小组"}


def needs_opinion(db: Session, api: Api) -> None:
    """The campaign asks the county's leading group for its opinion before any promotion."""
    campaign = db.get_one(Campaign, api.world.campaigns["open"].id)
    campaign.decision_config = {
        **(campaign.decision_config or {}),
        "promotion_opinions": [LEADING_GROUP],
    }
    db.commit()


def opinion(api: Api, grading_id: int, favourable: bool, code: str = "LG", **extra: Any) -> Any:
    return api.put(
        f"/api/v1/gradings/{grading_id}/promotion/opinions/{code}",
        who="reviewer",
        json={
            "favourable": favourable,
            "text": "同意晋位" if favourable else "整改成效不显著，不同意晋位",
            "given_on": "2026-11-20",
            "given_by": "县委党建工作领导小组办公室",
            **extra,
        },
    )
