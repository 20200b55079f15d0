"""The draw of a spot check: a deterministic function of a seed and a population, so that
anyone can recompute the sample (docs/spot-checks.md gives the same steps in a few lines).

    seed   = SHA-256("grading spot check v1\\n" ‖ note-hash ‖ "\\n" ‖ public value), hex
             note-hash: SHA-256 (hex) of the first signed tree head after the plan was recorded
    total  = size, or round-half-up(share × N), at least 1, at most N
    strata = the population grouped by the plan's stratify fields; each gets total × n/N,
             rounded down, and the units left over go to the largest remainders (ties: the
             stratum's name in code-point order)
    order  = within a stratum, by SHA-256(seed ‖ ":" ‖ organization code) hex, then by code;
             the first k of each stratum are drawn

The population's order does not matter: only codes and strata enter the draw.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

SEED_PREFIX = b"grading spot check v1\n"


@dataclass(frozen=True)
class Member:
    code: str  # the organization's code: unique, stable, printed in every list
    stratum: str  # e.g. "average" or "average|village"; "" when not stratified


@dataclass(frozen=True)
class Drawn:
    code: str
    stratum: str
    rank: str


def seed_of(note_sha256: str, public_value: str) -> str:
    digest = hashlib.sha256(SEED_PREFIX + note_sha256.encode() + b"\n" + public_value.encode())
    return digest.hexdigest()


def sample_size(population: int, share: Decimal | None, size: int | None) -> int:
    if population == 0:
        return 0
    if size is not None:
        return min(size, population)
    assert share is not None
    wanted = (share * population).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(1, min(int(wanted), population))


def allocate(strata: dict[str, int], total: int) -> dict[str, int]:
    """Largest-remainder shares of `total` over strata of these sizes."""
    population = sum(strata.values())
    if population == 0:
        return {}
    quotas = {name: Fraction(total * n, population) for name, n in strata.items()}
    given = {name: int(q) for name, q in quotas.items()}
    left = total - sum(given.values())
    by_remainder = sorted(quotas, key=lambda name: (-(quotas[name] - given[name]), name))
    for name in by_remainder[:left]:
        given[name] += 1
    return given


def rank_of(seed: str, code: str) -> str:
    return hashlib.sha256(f"{seed}:{code}".encode()).hexdigest()


def draw(
    seed: str, members: Iterable[Member], share: Decimal | None, size: int | None
) -> list[Drawn]:
    """The sample, stratum by stratum (strata in code-point order), each in draw order."""
    strata: dict[str, list[Member]] = defaultdict(list)
    for member in members:
        strata[member.stratum].append(member)
    total = sample_size(sum(len(m) for m in strata.values()), share, size)
    counts = allocate({name: len(m) for name, m in strata.items()}, total)
    drawn: list[Drawn] = []
    for name in sorted(strata):
        ranked = sorted((rank_of(seed, m.code), m.code) for m in strata[name])
        drawn += [Drawn(code, name, rank) for rank, code in ranked[: counts[name]]]
    return drawn
