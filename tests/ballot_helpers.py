"""Casting ballots in tests: attendance recorded, the session's codes read, ballots cast as
voters cast them."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.conftest import Api


def attend(api: Api, session_id: int, who: str = "teller", **present: int) -> Any:
    """Record who came (实到): everyone issued a code, unless `present` says otherwise."""
    session = api.get(f"/api/v1/ballot-sessions/{session_id}", who=who).get_json()
    body = {
        "categories": [
            {"code": c["code"], "present": present.get(c["code"], c["issued"])}
            for c in session["categories"]
        ]
    }
    recorded = api.post(f"/api/v1/ballot-sessions/{session_id}/attendance", json=body, who=who)
    assert recorded.status_code == 200, recorded.get_json()
    return recorded.get_json()


def codes_of(api: Api, session_id: int) -> list[dict[str, str]]:
    response = api.get(f"/api/v1/ballot-sessions/{session_id}/codes?format=csv", who="teller")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def cast(api: Api, code: str, answers: list[dict[str, Any]]) -> Any:
    return api.post("/api/v1/ballots", json={"code": code, "answers": answers}, who=None)
