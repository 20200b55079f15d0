"""抽查: the city spot-checks a township's results. The sample is drawn from a seed nobody
controls alone (a tree head signed after the plan, a public value entered after that), by a
function anyone can recompute (docs/spot-checks.md); a falsification reopens the grading and
is answered for in an append-only ledger."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.accounts import operations as accounts
from service.accounts.models import Role
from service.audit.operations import record
from service.campaigns.models import Campaign
from service.context import Actor
from service.db import utcnow
from service.gradings import enrolment, records
from service.gradings.models import Grading
from service.organizations import operations as orgs
from service.organizations.models import Organization
from service.publicity.models import Complaint
from service.spotchecks import beacons
from service.spotchecks.draw import Member, draw, seed_of
from tests.conftest import Api, assert_problem
from tests.grading_helpers import walk
from tests.world import World

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

LEVELS = ["good", "fairly_good", "average", "poor"]


def recompute(
    seed: str, members: list[tuple[str, str]], share: str | None = None, size: int | None = None
) -> list[str]:
    """docs/spot-checks.md's few lines, as a reader would copy them."""
    strata: dict[str, list[str]] = {}
    for code, stratum in members:
        strata.setdefault(stratum, []).append(code)
    n = len(members)
    total = (
        min(size, n)
        if size
        else max(1, min(n, int((Decimal(share or "0") / 100 * n).quantize(1, ROUND_HALF_UP))))
    )
    quota = {s: Fraction(total * len(c), n) for s, c in strata.items()}
    k = {s: int(q) for s, q in quota.items()}
    for s in sorted(quota, key=lambda s: (-(quota[s] - k[s]), s))[: total - sum(k.values())]:
        k[s] += 1

    def rank(code: str) -> str:
        return hashlib.sha256(f"{seed}:{code}".encode()).hexdigest()

    return [
        c for s in sorted(strata) for c in sorted(strata[s], key=lambda c: (rank(c), c))[: k[s]]
    ]


TOWNSHIP = [(f"T-{n:02d}", LEVELS[n % 4]) for n in range(21)]
VECTOR_SEED = seed_of("0" * 64, "2026-12-01 福彩3D 1 2 3")


def test_the_draw_matches_its_fixed_vector_and_the_published_recipe() -> None:
    assert VECTOR_SEED == "e58e62387d3a709d1559eee606d3923f39b615c50844e61ad6e4af6a70ba2dfe"
    members = [Member(code, level) for code, level in TOWNSHIP]
    drawn = [d.code for d in draw(VECTOR_SEED, members, Decimal("0.2"), None)]
    assert drawn == ["T-10", "T-01", "T-16", "T-15"]
    assert drawn == recompute(VECTOR_SEED, TOWNSHIP, share="20")


def test_the_draw_does_not_depend_on_the_order_it_is_given() -> None:
    members = [Member(code, level) for code, level in TOWNSHIP]
    once = draw(VECTOR_SEED, members, None, 7)
    assert draw(VECTOR_SEED, list(reversed(members)), None, 7) == once
    assert draw(VECTOR_SEED, sorted(members, key=lambda m: m.stratum), None, 7) == once


@pytest.mark.parametrize("size", [4, 8, 13, 21])
def test_a_stratified_sample_keeps_to_its_strata(size: int) -> None:
    members = [Member(code, level) for code, level in TOWNSHIP]
    drawn = draw(VECTOR_SEED, members, None, size)
    assert len(drawn) == size and len({d.code for d in drawn}) == size
    per_stratum = {s: sum(1 for d in drawn if d.stratum == s) for s in LEVELS}
    sizes = {s: sum(1 for _, level in TOWNSHIP if level == s) for s in LEVELS}
    for stratum, k in per_stratum.items():  # within one of its exact proportional share
        assert abs(k - size * sizes[stratum] / len(TOWNSHIP)) < 1, per_stratum


# --- through HTTP --------------------------------------------------------------------------


def rated_township(db: Session, world: World, extra: int = 19) -> dict[str, int]:
    """Township A1 with 2 + `extra` branches, every grading of the open campaign rated, levels
    in turn: organization code -> grading id."""
    actor = Actor.system("t")
    for n in range(extra):
        orgs.create_organization(
            db,
            actor,
            world.org("A1"),
            {
                "code": f"A1-X{n:02d}",
                "name": f"第{n}村党支部",
                "kind": "branch",
                "domain": "village",
            },
        )
    enrolment.enroll(db, actor, db.get_one(Campaign, world.campaigns["open"].id))
    found = {}
    rows = db.execute(
        select(Grading, Organization)
        .join(Organization, Organization.id == Grading.organization_id)
        .where(Grading.campaign_id == world.campaigns["open"].id)
        .order_by(Organization.code)
    )
    rated = []
    for n, (grading, org) in enumerate(rows):
        walk(grading, "rated")
        grading.level = LEVELS[n % 4]
        found[org.code] = grading.id
        rated.append(grading)
    db.flush()
    for grading in rated:  # the trail tells where the set-up left each grading
        record(
            db,
            actor,
            "grading.transition",
            "grading",
            grading.id,
            organization_id=grading.organization_id,
            after={"state": grading.state, "level": grading.level, "version": grading.version},
            reason="test set-up: the township's decisions are rated",
        )
    db.commit()
    return found


def plan_body(api: Api, **extra: Any) -> dict[str, Any]:
    return {
        "campaign_id": api.world.campaigns["open"].id,
        "organization_id": api.world.org("A1").id,
        "title": "2026年分类定级结果抽查",
        "share": "20",
        "stratify": ["level"],
        "beacon": {"kind": "lottery", "name": "福彩3D", "date": TOMORROW.isoformat(), "digits": 3},
        **extra,
    }


TOMORROW = date.today() + timedelta(days=1)


@pytest.fixture
def beacon_public(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Moves the beacons' clock past tomorrow's draw (the value the plans name is public)."""

    def later() -> None:
        monkeypatch.setattr(beacons, "now", lambda: utcnow() + timedelta(days=3))

    return later


@pytest.fixture
def city(api: Api, db: Session) -> dict[str, str]:
    """The city department's inspector (above the county and its townships): their headers."""
    actor = Actor.system("t")
    account = accounts.create_account(
        db,
        actor,
        username="city.inspector",
        display_name="市委组织部",
        organization=api.world.org("C"),
    )
    accounts.grant_role(db, actor, account, Role.INSPECTOR, api.world.org("C"))
    _, token = accounts.issue_token(db, actor, account, name="t", lifetime=timedelta(days=1))
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def send(api: Api, headers: dict[str, str], method: str, path: str, body: Any = None) -> Any:
    return api.client.open(f"/api/v1{path}", method=method, json=body, headers=headers)


def planned(api: Api, city: dict[str, str], **extra: Any) -> int:
    body = {k: v for k, v in plan_body(api, **extra).items() if v is not None}
    made = send(api, city, "POST", "/spot-checks", body)
    assert made.status_code == 201, made.get_json()
    return int(made.get_json()["id"])


def test_a_spot_check_from_plan_to_accountability(
    api: Api, db: Session, city: dict[str, str], beacon_public: Callable[[], None]
) -> None:
    gradings = rated_township(db, api.world)
    check = planned(api, city)
    shown = send(api, city, "GET", f"/spot-checks/{check}").get_json()
    assert (shown["state"], shown["seed"], shown["share"]) == ("planned", None, "20.00")
    assert shown["public_source"] == f"福彩3D {TOMORROW.isoformat()} 开奖号码（3位）"
    draw_path = f"/spot-checks/{check}/draw"
    public = {"public_value": "1 2 3"}
    assert_problem(send(api, city, "POST", draw_path, public), 409, "seed-not-ready")
    assert send(api, city, "POST", "/audit/checkpoints", {}).status_code == 201
    early = assert_problem(send(api, city, "POST", draw_path, public), 409, "seed-not-ready")
    assert "is public from" in early["detail"]  # nobody knows tomorrow's draw today
    beacon_public()
    wrong = send(api, city, "POST", draw_path, {"public_value": "12"})
    assert "public_value" in assert_problem(wrong, 422, "validation-error")["errors"]
    drawn = send(api, city, "POST", draw_path, public)
    assert drawn.status_code == 200, drawn.get_json()
    spot = drawn.get_json()
    assert spot["state"] == "drawn" and spot["population_size"] == 21
    assert_problem(send(api, city, "POST", draw_path, public), 409, "spot-check-state")

    # anyone recomputes the sample from what is published
    event = api.get(
        f"/api/v1/audit/events?action=spot_check.draw&entity_id={check}", who="root_admin"
    ).get_json()["items"][0]["after"]
    assert event["seed"] == seed_of(spot["checkpoint_note_sha256"], "1 2 3") == spot["seed"]
    level_of = {code: LEVELS[n % 4] for n, code in enumerate(sorted(gradings))}
    members = [(code, level_of[code]) for code in event["population"]]
    assert event["sample"] == recompute(spot["seed"], members, share="20")
    report = send(api, city, "GET", f"/spot-checks/{check}/report").get_json()
    assert [r["organization_code"] for r in report["sample"]] == event["sample"]
    assert {r["level"] for r in report["sample"]} == set(LEVELS)  # 20%, one per level

    first, *rest = report["sample"]
    falsified = send(
        api,
        city,
        "PUT",
        f"/spot-checks/{check}/findings/{first['grading_id']}",
        {"outcome": "falsified", "evidence": "会议记录系补写", "description": "三会一课记录造假"},
    )
    assert falsified.status_code == 200, falsified.get_json()
    approval_id = falsified.get_json()["reopen_approval_id"]
    assert approval_id is not None
    again = send(
        api,
        city,
        "PUT",
        f"/spot-checks/{check}/findings/{first['grading_id']}",
        {"outcome": "confirmed"},
    )
    assert_problem(again, 409, "conflict")
    approved = api.post(f"/api/v1/approvals/{approval_id}/approve", json={}, who="supervisor")
    assert approved.status_code == 200, approved.get_json()
    grading = api.get(f"/api/v1/gradings/{first['grading_id']}", who="reviewer").get_json()
    assert grading["state"] == "superior_review" and grading.get("level") is None

    ledger = send(
        api,
        city,
        "POST",
        f"/spot-checks/{check}/accountability",
        {
            "grading_id": first["grading_id"],
            "committee_id": api.world.org("A1").id,
            "persons": "甲镇党委书记、组织委员",
            "measure": "诫勉谈话，通报批评",
        },
    )
    assert ledger.status_code == 201, ledger.get_json()
    assert_problem(send(api, city, "POST", f"/spot-checks/{check}/conclude"), 409, "conflict")
    for row in rest:
        done = send(
            api,
            city,
            "PUT",
            f"/spot-checks/{check}/findings/{row['grading_id']}",
            {"outcome": "confirmed"},
        )
        assert done.status_code == 200 and done.get_json()["reopen_approval_id"] is None
    concluded = send(api, city, "POST", f"/spot-checks/{check}/conclude")
    assert concluded.status_code == 200 and concluded.get_json()["state"] == "concluded"

    report = send(api, city, "GET", f"/spot-checks/{check}/report").get_json()
    assert (report["falsified"], report["confirmed"]) == (1, 3)
    assert report["sample"][0]["grading_state"] == "superior_review"
    assert report["sample"][0]["reopen_approval"]["state"] == "approved"
    assert report["accountability"][0]["measure"] == "诫勉谈话，通报批评"
    # the same report as a workbook to file: the sample with the findings, and the ledger
    workbook = send(api, city, "GET", f"/spot-checks/{check}/report?format=xlsx")
    assert workbook.status_code == 200 and workbook.mimetype == XLSX
    assert "filename*=UTF-8''" in workbook.headers["Content-Disposition"]
    sample_sheet, ledger_sheet = load_workbook(io.BytesIO(workbook.get_data())).worksheets
    assert (sample_sheet.title, ledger_sheet.title) == ("抽查样本", "责任追究")
    sample_rows = list(sample_sheet.iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in sample_rows] == [r["organization_code"] for r in report["sample"]]
    assert sample_rows[0][5] == "弄虚作假" and sample_sheet.oddFooter.left.text.startswith("种子 ")
    [entry] = list(ledger_sheet.iter_rows(min_row=3, values_only=True))
    assert entry[0] == first["organization_name"] and entry[3] == "诫勉谈话，通报批评"
    assert_problem(
        send(api, city, "GET", f"/spot-checks/{check}/report?format=pdf"), 422, "validation-error"
    )
    history = api.get(f"/api/v1/gradings/{first['grading_id']}/history", who="reviewer").get_json()
    assert {"spot_check.finding", "spot_check.accountability"} <= {
        i["action"] for i in history["items"]
    }
    verified = send(api, city, "GET", "/audit/verify").get_json()
    assert verified["intact"] is True, verified
    # the ledger is append-only, like the audit trail
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("UPDATE accountability_records SET measure = '无'"))


def test_only_an_inspector_above_plans_and_draws(
    api: Api, db: Session, city: dict[str, str]
) -> None:
    rated_township(db, api.world, extra=0)
    county_inspector = api.post("/api/v1/spot-checks", json=plan_body(api), who="inspector")
    assert county_inspector.status_code == 201  # the county is above the township
    at_the_county = api.post(
        "/api/v1/spot-checks",
        json=plan_body(api, organization_id=api.world.org("A").id),
        who="inspector",
    )
    assert (
        "needs an inspector above 甲县委"
        in assert_problem(at_the_county, 403, "forbidden")["detail"]
    )
    assert_problem(
        api.post("/api/v1/spot-checks", json=plan_body(api), who="reviewer"), 403, "forbidden"
    )
    outside = api.post(
        "/api/v1/spot-checks",
        json=plan_body(api, organization_id=api.world.org("B").id),
        who="inspector",
    )
    assert_problem(outside, 404, "not-found")
    check = planned(api, city, organization_id=api.world.org("A").id)
    assert_problem(api.get(f"/api/v1/spot-checks/{check}", who="reviewer_b"), 404, "not-found")
    assert api.get("/api/v1/spot-checks", who="admin_b").get_json()["items"] == []


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"size": 3}, "share"),  # share and size both
        ({"share": None}, "share"),
        ({"share": "150"}, "share"),
        ({"stratify": ["level", "level"]}, "stratify"),
        ({"stratify": ["colour"]}, "stratify"),
        (
            {"beacon": {"kind": "lottery", "name": "福彩3D", "date": "2020-01-01", "digits": 3}},
            "beacon",
        ),
        ({"beacon": {"kind": "drand", "chain": "default", "round": 1}}, "beacon"),
        ({"beacon": {"kind": "drand", "chain": "default"}}, "beacon"),
        ({"beacon": None}, "beacon"),
    ],
)
def test_a_plan_that_makes_no_sense_is_a_422(
    api: Api, city: dict[str, str], extra: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in plan_body(api, **extra).items() if v is not None}
    refused = send(api, city, "POST", "/spot-checks", body)
    assert field in assert_problem(refused, 422, "validation-error")["errors"]


def test_a_falsification_needs_evidence_and_a_description(
    api: Api, db: Session, city: dict[str, str], beacon_public: Callable[[], None]
) -> None:
    rated_township(db, api.world, extra=0)
    check = planned(api, city, size=1, share=None)
    send(api, city, "POST", "/audit/checkpoints", {})
    beacon_public()
    drawn = send(api, city, "POST", f"/spot-checks/{check}/draw", {"public_value": "7 0 7"})
    assert drawn.status_code == 200, drawn.get_json()
    sampled = send(api, city, "GET", f"/spot-checks/{check}/report").get_json()["sample"][0]
    bare = send(
        api,
        city,
        "PUT",
        f"/spot-checks/{check}/findings/{sampled['grading_id']}",
        {"outcome": "falsified"},
    )
    assert_problem(bare, 422, "validation-error")
    other = api.world.gradings["b:B-01"].id
    assert_problem(
        send(api, city, "PUT", f"/spot-checks/{check}/findings/{other}", {"outcome": "confirmed"}),
        404,
        "not-found",
    )


def test_the_population_is_every_decided_level_wherever_its_grading_is_now(
    api: Api, db: Session, city: dict[str, str], beacon_public: Callable[[], None]
) -> None:
    """Rated, rectifying, in 回头看, rising, closed: all drawn from; under publicity, not yet.
    A falsification found in rectification reopens the level from there."""
    gradings = rated_township(db, api.world, extra=2)
    moved = {"A1-01": "rectification", "A1-02": "re_review", "A1-X00": "promotion"}
    for code, state in moved.items():
        walk(db.get_one(Grading, gradings[code]), state)
    db.commit()
    check = planned(api, city, share=None, size=4, stratify=[])
    assert send(api, city, "POST", "/audit/checkpoints", {}).status_code == 201
    beacon_public()
    drawn = send(api, city, "POST", f"/spot-checks/{check}/draw", {"public_value": "9 9 9"})
    assert drawn.status_code == 200, drawn.get_json()
    event = api.get(
        f"/api/v1/audit/events?action=spot_check.draw&entity_id={check}", who="root_admin"
    ).get_json()["items"][0]["after"]
    assert set(event["population"]) == set(gradings) and len(event["sample"]) == 4
    rectifying = gradings["A1-01"]
    found = send(
        api,
        city,
        "PUT",
        f"/spot-checks/{check}/findings/{rectifying}",
        {"outcome": "falsified", "evidence": "台账系补写", "description": "整改台账造假"},
    )
    assert found.status_code == 200, found.get_json()
    approval = api.get(
        f"/api/v1/approvals/{found.get_json()['reopen_approval_id']}", who="supervisor"
    ).get_json()
    assert approval["subject"] == "reopen_rectification_after_spot_check"
    approved = api.post(f"/api/v1/approvals/{approval['id']}/approve", json={}, who="supervisor")
    assert approved.status_code == 200, approved.get_json()
    assert db.get_one(Grading, rectifying).state == "superior_review"


def test_accountability_comes_from_any_oversight_that_found_something_and_names_it(
    api: Api, db: Session, city: dict[str, str]
) -> None:
    gradings = rated_township(db, api.world, extra=0)
    east, office = gradings["A1-01"], gradings["A1-02"]
    upheld = Complaint(
        grading_id=east, text="测评票由支部代填", tracking_code="T-UPHELD-0001", upheld=True
    )
    dismissed = Complaint(
        grading_id=east, text="不满意", tracking_code="T-DISMISSED-01", upheld=False
    )
    db.add_all([upheld, dismissed])
    inspected = records.write(
        db,
        Actor.system("t"),
        db.get_one(Grading, office),
        "rectification_acceptance",
        {"conclusion": "not_accepted", "findings": "整改不到位", "accepted_on": "2026-11-20"},
        key="main",
    )
    db.commit()
    body = {
        "committee_id": api.world.org("A1").id,
        "persons": "东村党支部书记",
        "measure": "诫勉谈话",
    }
    url = f"/gradings/{east}/accountability"
    made = send(api, city, "POST", url, {**body, "source": "complaint", "source_id": upheld.id})
    assert made.status_code == 201, made.get_json()
    assert (made.get_json()["source"], made.get_json()["spot_check_id"]) == ("complaint", None)
    not_found = {**body, "source": "complaint", "source_id": dismissed.id}
    assert_problem(send(api, city, "POST", url, not_found), 409, "conflict")
    elsewhere = {**body, "source": "inspection", "source_id": inspected.id}
    assert_problem(send(api, city, "POST", url, elsewhere), 404, "not-found")
    office_url = f"/gradings/{office}/accountability"
    held = send(api, city, "POST", office_url, elsewhere)
    assert held.status_code == 201, held.get_json()
    assert_problem(
        api.post(
            f"/api/v1{url}",
            json={**body, "source": "complaint", "source_id": upheld.id},
            who="reviewer",
        ),
        403,
        "forbidden",
    )
    ledger = api.get(f"/api/v1{url}", who="secretary").get_json()["items"]
    assert [(r["source"], r["source_id"]) for r in ledger] == [("complaint", upheld.id)]
    history = api.get(f"/api/v1/gradings/{east}/history", who="reviewer").get_json()["items"]
    assert "accountability.record" in {i["action"] for i in history}
    assert send(api, city, "GET", "/audit/verify").get_json()["intact"] is True
