"""The demo county as people meet it: the database `make run` builds (demo and its staged
examples), an app over it, and the steps a teller and a reviewer take through the API."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import demo, demo_examples, migrate
from service.app import create_app
from service.ballots.models import BallotSession
from service.config import Settings
from service.db import make_engine
from service.demo_examples import BALLOT_TITLE, VOTING
from service.gradings.models import Grading
from service.organizations.models import Organization
from service.publicity.models import Complaint

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')


@dataclass
class DemoSite:
    url: str
    tokens: dict[str, str]
    ids: dict[str, int] = field(default_factory=dict)
    password: str = ""  # the workbench's sign-in, the same for every demo account

    def settings(self, **overrides: Any) -> Settings:
        return Settings.from_env(database_url=self.url, **overrides)

    def app(self, **overrides: Any) -> Flask:
        return create_app(self.settings(**overrides))

    def look_up(self) -> None:
        engine = make_engine(self.url)
        with Session(engine) as db:
            # this year's county campaign (the first made); 青石镇's of last year comes after it
            self.ids["campaign"] = (
                db.scalars(select(Grading.campaign_id).order_by(Grading.id)).first() or 0
            )
            self.ids["meeting"] = db.scalars(
                select(BallotSession.id).where(BallotSession.title == BALLOT_TITLE)
            ).one()
            for org in db.scalars(select(Organization)):
                self.ids[org.code] = org.id
            self.ids.update(
                {
                    f"grading:{code}": grading_id
                    for code, grading_id in db.execute(
                        select(Organization.code, Grading.id)
                        .join(Organization, Organization.id == Grading.organization_id)
                        .where(Grading.campaign_id == self.ids["campaign"])
                    )
                }
            )
        engine.dispose()


def bearer(site: DemoSite, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.tokens[who]}"}


def open_meeting(client: FlaskClient, site: DemoSite, members: int = 3, public: int = 0) -> int:
    """A new ballot meeting for the school's two organizations (a teller, through the API), its
    roll first set to `members` (by the city's admin) so that they are everyone eligible."""
    school = client.get(
        "/api/v1/organizations", query_string={"q": "党总支"}, headers=bearer(site, "admin")
    ).get_json()["items"][0]
    roll = client.patch(
        f"/api/v1/organizations/{school['id']}",
        json={"full_members": members, "probationary_members": 0, "reason": "核对党员名册"},
        headers=bearer(site, "admin"),
    )
    assert roll.status_code == 200, roll.get_json()
    categories = [{"code": "members", "issued": members}]
    if public:
        categories.append({"code": "public_reps", "issued": public})
    response = client.post(
        "/api/v1/ballot-sessions",
        json={
            "campaign_id": site.ids["campaign"],
            "title": "第三中学补充测评会",
            "grading_ids": [site.ids[f"grading:{code}"] for code in VOTING],
            "categories": categories,
        },
        headers=bearer(site, "county.teller"),
    )
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def codes_of(client: FlaskClient, site: DemoSite, session_id: int) -> list[tuple[str, str]]:
    """(code, url) of every ballot of a session, as the teller's CSV lists them."""
    response = client.get(
        f"/api/v1/ballot-sessions/{session_id}/codes?format=csv",
        headers=bearer(site, "county.teller"),
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return [(row["code"], row["url"]) for row in rows]


def fresh_code(client: FlaskClient, site: DemoSite, members: int = 2) -> str:
    """The first code of a new meeting: nobody else's test has used it."""
    return codes_of(client, site, open_meeting(client, site, members=members))[0][0]


def close_and_count(client: FlaskClient, site: DemoSite, session_id: int) -> None:
    """Close the meeting, record that everyone given a code came, count."""
    url, teller = f"/api/v1/ballot-sessions/{session_id}", bearer(site, "county.teller")
    closed = client.post(f"{url}/close", headers=teller)
    assert closed.status_code == 200, closed.get_json()
    present = [{"code": c["code"], "present": c["issued"]} for c in closed.get_json()["categories"]]
    attended = client.post(f"{url}/attendance", json={"categories": present}, headers=teller)
    assert attended.status_code == 200, attended.get_json()
    counted = client.post(f"{url}/count", headers=teller)
    assert counted.status_code == 200, counted.get_json()


def answer_complaint(client: FlaskClient, site: DemoSite, tracking: str, reply: str) -> None:
    """The county's reviewer takes the complaint up and answers it (not upheld)."""
    engine = make_engine(site.url)
    with Session(engine) as db:
        complaint_id = db.scalars(
            select(Complaint.id).where(Complaint.tracking_code == tracking)
        ).one()
    engine.dispose()
    assigned = client.post(
        f"/api/v1/complaints/{complaint_id}/assign", headers=bearer(site, "county.reviewer")
    )
    assert assigned.status_code == 200, assigned.get_json()
    answered = client.post(
        f"/api/v1/complaints/{complaint_id}/answer",
        json={"findings": "经查，测评程序规范", "reply": reply, "upheld": False},
        headers=bearer(site, "county.reviewer"),
    )
    assert answered.status_code == 200, answered.get_json()


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def fresh_demo(fresh_database_url: Any, name: str) -> DemoSite:
    """The database `make run` serves — the demo with its staged examples (青石镇 under
    publicity, the school's ballot meeting open) — in a database of its own."""
    url = fresh_database_url(name)
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        people = demo.load(session, year=2026)
        demo_examples.stage(session, box_secret=Settings.from_env(database_url=url).box_secret)
        session.commit()
    engine.dispose()
    site = DemoSite(url, {p.username: p.token for p in people}, password=people[0].password)
    site.look_up()
    return site
