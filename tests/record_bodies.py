"""Bodies of stage records that pass validation with nothing in them: a survey entry and a sheet
(the authorization matrix's and the hot paths' tests)."""

from __future__ import annotations

SURVEY_DATA = {
    "method": "meeting",
    "date": "2026-03-01",
    "counts": {},
    "problems": [],
    "suggestions": [],
    "note": None,
}


SHEET_DATA = {
    "scores": [],
    "adjustments": [],
    "totals": {"indicators": "0", "bonus": "0", "deduction": "0", "total": "0"},
}
