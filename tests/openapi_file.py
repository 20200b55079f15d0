"""openapi.yaml as the tests read it: parsed once per process by libyaml's C loader (the pure
Python loader takes seconds for this file), a fresh copy for each caller."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[1] / "openapi.yaml"
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _parsed() -> dict[str, Any]:
    return yaml.load(SPEC.read_text(encoding="utf-8"), Loader=Loader)


def openapi_document() -> dict[str, Any]:
    return copy.deepcopy(_parsed())
