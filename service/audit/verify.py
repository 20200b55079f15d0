"""Recompute every chain and say whether the trail is intact; if not, where and how it broke.

Kinds of damage, for the first bad event of a chain:
  modified     the event's content no longer matches its hash
  missing      a sequence number is skipped (an event was removed)
  inserted     an event does not link to its predecessor, repeats a sequence number, or lies
               beyond the recorded head of its chain
  re-ordered   events were moved: sequence order and insertion order disagree
  rolled-back  the chain (or the Merkle log) is shorter than a signed checkpoint says it was
  forked       the history a signed checkpoint saw was rewritten since
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audit import log, merkle
from service.audit.canonical import GENESIS, HASHED_FIELDS, ordered_hash
from service.audit.models import AuditEvent, ChainHead
from service.errors import NotFound


@dataclass(frozen=True)
class Damage:
    kind: str
    chain_key: str
    event_id: int | None
    seq: int | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "chain_key": self.chain_key,
            "event_id": self.event_id,
            "seq": self.seq,
            "detail": self.detail,
        }


@dataclass
class Report:
    chains: int = 0
    events: int = 0
    damage: list[Damage] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    witnessed: dict[str, int] = field(default_factory=dict)  # witness -> largest size vouched
    anchored: int = 0  # the largest tree size a witness or a saved checkpoint vouches for

    @property
    def intact(self) -> bool:
        return not self.damage

    def vouching(self) -> str:
        if not self.witnessed:
            return "no witness has cosigned"
        return ", ".join(f"{w} vouches for {n} events" for w, n in sorted(self.witnessed.items()))

    def summary(self) -> str:
        if self.intact:
            return (
                f"intact: {self.events} events in {self.chains} chains verified; {self.vouching()}"
            )
        first = self.damage[0]
        word = "UNANCHORED" if all(d.kind == "unanchored" for d in self.damage) else "DAMAGED"
        return (
            f"{word}: {len(self.damage)} problem(s) in {self.events} events / {self.chains} "
            f"chains; first: {first.kind} at event {first.event_id} "
            f"({first.chain_key} #{first.seq}): {first.detail}"
        )


def _verify_chain(
    key: str, events: list[Any], recorded: tuple[int, str] | None
) -> tuple[Damage | None, tuple[int, str]]:
    def damage(kind: str, event: Any, detail: str) -> Damage:
        return Damage(kind, key, event.id, event.chain_seq, detail)

    for earlier, later in itertools.pairwise(events):
        if later.id < earlier.id:
            detail = f"written before event {earlier.id} but placed after it"
            return damage("re-ordered", later, detail), (0, GENESIS)
    expected_seq, prev = 1, GENESIS
    for event in events:
        if ordered_hash(_HASHED(event)) != event.hash:
            found = damage("modified", event, "content does not match its hash")
            return found, (expected_seq - 1, prev)
        if event.chain_seq > expected_seq:
            gone = f"events #{expected_seq}..#{event.chain_seq - 1} are gone"
            return damage("missing", event, gone), (expected_seq - 1, prev)
        if event.chain_seq < expected_seq or event.prev_hash != prev:
            found = damage("inserted", event, "does not link to the event before it")
            return found, (expected_seq - 1, prev)
        expected_seq, prev = event.chain_seq + 1, event.hash
    head = (expected_seq - 1, prev)
    if recorded is not None and recorded[0] < head[0]:
        extra = next(e for e in events if e.chain_seq == recorded[0] + 1)
        detail = f"beyond the recorded head #{recorded[0]} of the chain"
        return damage("inserted", extra, detail), head
    if recorded is not None and recorded[0] > head[0]:
        detail = f"the chain ends at #{head[0]} but its head says #{recorded[0]}"
        return Damage("missing", key, None, head[0] + 1, detail), head
    if recorded is not None and recorded[1] != head[1]:
        last = events[-1]
        detail = "the chain's last hash is not the one its head recorded"
        return damage("modified", last, detail), head
    return None, head


# The hashed fields of an event row (select(AuditEvent.__table__): the table's column order).
_HASHED = itemgetter(*(list(AuditEvent.__table__.c.keys()).index(n) for n in HASHED_FIELDS))


def _events_by_chain(
    session: Session, chain_keys: Iterable[str] | None
) -> Iterator[tuple[str, list[Any]]]:
    """Plain rows, not ORM objects: nothing piles up in the caller's session."""
    table = AuditEvent.__table__
    query = select(table).order_by(table.c.chain_key, table.c.chain_seq, table.c.id)
    if chain_keys is not None:
        query = query.where(table.c.chain_key.in_(list(chain_keys)))
    current: str | None = None
    batch: list[Any] = []
    for event in session.execute(query.execution_options(yield_per=2000)):
        if event.chain_key != current:
            if current is not None:
                yield current, batch
            current, batch = event.chain_key, []
        batch.append(event)
    if current is not None:
        yield current, batch


def verify(session: Session, chain_keys: Iterable[str] | None = None) -> Report:
    recorded = {h.chain_key: (h.seq, h.hash) for h in session.scalars(select(ChainHead))}
    keys = set(chain_keys) if chain_keys is not None else None
    report = Report()
    seen: set[str] = set()
    for key, events in _events_by_chain(session, keys):
        seen.add(key)
        report.chains += 1
        report.events += len(events)
        damage, head = _verify_chain(key, events, recorded.get(key))
        report.heads[key] = head
        if damage:
            report.damage.append(damage)
    for key, (seq, _) in recorded.items():
        if key not in seen and seq > 0 and (keys is None or key in keys):
            report.chains += 1
            report.damage.append(
                Damage("missing", key, None, 1, f"all {seq} events of the chain are gone")
            )
    return report


def check_against_checkpoint(
    report: Report, checkpoint_heads: dict[str, list[Any]]
) -> list[Damage]:
    """A saved checkpoint says how long each chain was and what its last hash was."""
    damage = []
    for key, (seq, digest) in sorted(checkpoint_heads.items()):
        current = report.heads.get(key)
        if current is None or current[0] < seq:
            have = current[0] if current else 0
            damage.append(
                Damage(
                    "rolled-back",
                    key,
                    None,
                    seq,
                    f"the checkpoint saw #{seq}; the chain now ends at #{have}",
                )
            )
        elif current[0] == seq and current[1] != digest:
            damage.append(
                Damage(
                    "modified", key, None, seq, "the chain's history differs from the checkpoint"
                )
            )
    return damage


@dataclass(frozen=True)
class SignedHead:
    """A checkpoint the log once signed: where it came from (the database or a file)."""

    source: str
    size: int
    root: bytes


def verify_log(session: Session, heads: Iterable[SignedHead]) -> list[Damage]:
    """Recompute the Merkle log from the events (each leaf from its event's hash) and hold it to
    every checkpoint it has signed: shorter → rolled-back, another root → forked. A leaf whose
    event is gone is missing; a leaf that no longer matches its event, modified. The stored
    subtrees that proofs are served from must give the same roots."""
    wanted = sorted(heads, key=lambda h: h.size)
    damage: list[Damage] = []
    frontier = merkle.Frontier()
    pending = iter(wanted)
    head = next(pending, None)

    def check_heads_at(size: int) -> None:
        nonlocal head
        while head is not None and head.size == size:
            if frontier.root() != head.root:
                damage.append(
                    Damage(
                        "forked",
                        "merkle",
                        None,
                        head.size,
                        f"the log's first {head.size} events do not give the root {head.source} "
                        "signed: history was rewritten",
                    )
                )
            head = next(pending, None)

    check_heads_at(0)
    for index, event_id, stored_leaf, chain_hash in log.leaves_in_order(session):
        if index != frontier.size:
            damage.append(
                Damage(
                    "missing", "merkle", None, frontier.size, f"leaves {frontier.size}.. are gone"
                )
            )
            break
        if chain_hash is None:
            damage.append(
                Damage("missing", "merkle", event_id, index, f"leaf {index}'s event is gone")
            )
            recomputed = bytes.fromhex(stored_leaf)
        else:
            recomputed = log.leaf_of(chain_hash)
            if recomputed.hex() != stored_leaf:
                damage.append(
                    Damage(
                        "modified",
                        "merkle",
                        event_id,
                        index,
                        f"event {event_id} no longer gives leaf {index} of the log",
                    )
                )
        frontier.append(recomputed)
        check_heads_at(frontier.size)
    while head is not None:
        damage.append(
            Damage(
                "rolled-back",
                "merkle",
                None,
                head.size,
                f"{head.source} signed a log of {head.size} events; it now has {frontier.size}",
            )
        )
        head = next(pending, None)
    for signed in wanted:
        if signed.size <= frontier.size and signed.size > 0:
            try:
                stored = log.stored_root(session, signed.size)
            except NotFound:
                stored = b""
            if stored != signed.root:
                damage.append(
                    Damage(
                        "modified",
                        "merkle",
                        None,
                        signed.size,
                        f"the stored subtrees do not give the root {signed.source} signed",
                    )
                )
    return damage
