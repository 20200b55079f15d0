"""The public randomness a spot check's seed takes, named with the plan before anyone can know
it: a drand round (the League of Entropy's beacon, https://drand.love) or a lottery's draw on a
named date. The planner cannot grind the sample — try values until a chosen branch stays out —
because the value is the world's, at a moment after the plan, in a format the draw insists on;
anyone holds the entered value to the published one (docs/spot-checks.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from service.db import utcnow
from service.errors import SeedNotReady, ValidationFailed

# drand chains: (genesis time, period in seconds) as the League of Entropy publishes them
DRAND_CHAINS: dict[str, tuple[int, int]] = {
    "default": (1595431050, 30),  # the mainnet chain (8990e7a9…)
    "quicknet": (1692803367, 3),  # the mainnet quicknet chain (52db9ba7…)
}
# A lottery's numbers are drawn in the evening (福彩 at 21:15 Beijing time): taken from 22:00.
LOTTERY_READ_AT = time(22, 0)
CHINA = ZoneInfo("Asia/Shanghai")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def now() -> datetime:
    """The clock the plan and the draw are held to (tests move it)."""
    return utcnow()


def public_at(beacon: Mapping[str, Any]) -> datetime:
    """When the beacon's value becomes public."""
    if beacon["kind"] == "drand":
        genesis, period = DRAND_CHAINS[beacon["chain"]]
        return datetime.fromtimestamp(genesis + (int(beacon["round"]) - 1) * period, UTC)
    day = beacon["date"]
    if isinstance(day, str):
        day = datetime.fromisoformat(day).date()
    return datetime.combine(day, LOTTERY_READ_AT, CHINA).astimezone(UTC)


def describe(beacon: Mapping[str, Any]) -> str:
    if beacon["kind"] == "drand":
        return f"drand {beacon['chain']} round {beacon['round']}"
    return f"{beacon['name']} {beacon['date']} 开奖号码（{beacon['digits']}位）"


def fixed_in_advance(beacon: Mapping[str, Any]) -> dict[str, Any]:
    """The beacon as the plan keeps it; refused unless its value is still unknown now."""
    if beacon["kind"] == "drand" and beacon.get("chain") not in DRAND_CHAINS:
        raise ValidationFailed(
            "unknown drand chain", errors={"beacon.chain": [f"one of {sorted(DRAND_CHAINS)}"]}
        )
    kept = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in beacon.items()}
    moment = public_at(kept)
    if moment <= now():
        raise ValidationFailed(
            f"{describe(kept)} was public at {moment:%Y-%m-%d %H:%M} UTC: a plan names a value "
            "nobody knows yet",
            errors={"beacon": ["its value is public already: name a later round or date"]},
        )
    return kept


def read(beacon: Mapping[str, Any], value: str) -> str:
    """The value as the seed takes it, once it may be public and is in the beacon's format."""
    moment = public_at(beacon)
    if now() < moment:
        raise SeedNotReady(
            f"{describe(beacon)} is public from {moment:%Y-%m-%d %H:%M} UTC: draw after that"
        )
    if beacon["kind"] == "drand":
        normalized = value.strip().lower()
        if not HEX64.match(normalized):
            raise ValidationFailed(
                "a drand round's randomness is 64 hexadecimal characters",
                errors={"public_value": ["the `randomness` of the round, 64 hex characters"]},
            )
        return normalized
    digits = re.sub(r"[\s,，、]+", "", value)
    if not digits.isdigit() or len(digits) != int(beacon["digits"]):
        raise ValidationFailed(
            f"{beacon['name']} draws {beacon['digits']} digits",
            errors={"public_value": [f"{beacon['digits']} digits, as published"]},
        )
    return " ".join(digits)
