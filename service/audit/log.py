"""The Merkle log over every audit event (docs/audit-trail.md, RFC 6962).

Writers do not touch it: a request appends its event to its organization's chain, as before.
The integrator (`python -m service audit integrate`, cron or the worker, and every checkpoint)
takes up committed events that have no leaf yet, in id order, gives them the next leaf
indexes, and stores each complete subtree once, when its last leaf arrives. A proof then reads
O(log n) stored hashes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.orm import Session

from service.audit import merkle, notes
from service.audit.models import AuditEvent, LogCheckpoint, LogLeaf, LogNode, LogTip
from service.errors import NotFound, ValidationFailed

BATCH = 5000


def leaf_of(event_hash_hex: str) -> bytes:
    """An event's leaf: its chain hash (which covers its content and its predecessor)."""
    return merkle.leaf_hash(bytes.fromhex(event_hash_hex))


@dataclass(frozen=True)
class Tip:
    size: int
    root: bytes


def tip(session: Session, *, lock: bool = False) -> Tip:
    query = select(LogTip).where(LogTip.id == 1)
    row = session.scalars(query.with_for_update() if lock else query).one()
    return Tip(row.size, bytes.fromhex(row.root))


def _frontier(session: Session, size: int) -> merkle.Frontier:
    """The right edge of the stored tree of `size`: O(log n) reads."""
    edge = [_stored(session, lo, hi) for lo, hi in merkle.edge_ranges(size)]
    return merkle.Frontier(size, edge)


def _stored(session: Session, lo: int, hi: int) -> bytes:
    """A complete subtree's hash as stored: a leaf, or a node."""
    width = hi - lo
    if width == 1:
        found = session.scalar(select(LogLeaf.leaf_hash).where(LogLeaf.leaf_index == lo))
    else:
        level = width.bit_length() - 1
        found = session.scalar(
            select(LogNode.hash).where(LogNode.level == level, LogNode.node_index == lo // width)
        )
    if found is None:
        raise NotFound(f"the log has no stored subtree [{lo}, {hi})")
    return bytes.fromhex(found)


def _unintegrated(session: Session, limit: int) -> list[tuple[int, str]]:
    table, leaves = AuditEvent.__table__, LogLeaf.__table__
    rows = session.execute(
        select(table.c.id, table.c.hash)
        .outerjoin(leaves, leaves.c.event_id == table.c.id)
        .where(leaves.c.event_id.is_(None))
        .order_by(table.c.id)
        .limit(limit)
    ).all()
    return [(int(r[0]), str(r[1])) for r in rows]


def integrate(session: Session, *, batch: int = BATCH, limit: int | None = None) -> Tip:
    """Give every committed event without a leaf the next leaf index; store the new complete
    subtrees and the new tip. Integrators wait for each other on the tip's row lock."""
    current = tip(session, lock=True)
    frontier = _frontier(session, current.size)
    taken = 0
    while limit is None or taken < limit:
        events = _unintegrated(session, batch if limit is None else min(batch, limit - taken))
        if not events:
            break
        leaves, nodes = [], []
        for event_id, event_hash in events:
            index = frontier.size
            for level, node_index, digest in frontier.append(leaf_of(event_hash)):
                if level == 0:
                    leaves.append(
                        {"leaf_index": index, "event_id": event_id, "leaf_hash": digest.hex()}
                    )
                else:
                    nodes.append({"level": level, "node_index": node_index, "hash": digest.hex()})
        session.execute(insert(LogLeaf), leaves)
        if nodes:
            session.execute(insert(LogNode), nodes)
        taken += len(events)
    root = frontier.root()
    session.execute(
        update(LogTip).where(LogTip.id == 1).values(size=frontier.size, root=root.hex())
    )
    session.flush()
    return Tip(frontier.size, root)


class _Subtrees:
    """MTH(D[lo:hi]) from the stored complete subtrees, each read once per proof; `prefetch`
    reads all a proof needs in two statements."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.seen: dict[tuple[int, int], bytes] = {}

    def prefetch(self, ranges: list[tuple[int, int]]) -> None:
        complete: set[tuple[int, int]] = set()

        def walk(lo: int, hi: int) -> None:
            if merkle.is_complete(lo, hi):
                complete.add((lo, hi))
            else:
                k = merkle.split(hi - lo)
                walk(lo, lo + k)
                walk(lo + k, hi)

        for lo, hi in ranges:
            walk(lo, hi)
        leaves = [lo for lo, hi in complete if hi - lo == 1]
        if leaves:
            for index, digest in self.session.execute(
                select(LogLeaf.leaf_index, LogLeaf.leaf_hash).where(LogLeaf.leaf_index.in_(leaves))
            ):
                self.seen[(index, index + 1)] = bytes.fromhex(digest)
        wanted = {
            ((hi - lo).bit_length() - 1, lo // (hi - lo)) for lo, hi in complete if hi - lo > 1
        }
        if wanted:
            for level, index, digest in self.session.execute(
                select(LogNode.level, LogNode.node_index, LogNode.hash).where(
                    tuple_(LogNode.level, LogNode.node_index).in_(list(wanted))
                )
            ):
                width = 1 << level
                self.seen[(index * width, (index + 1) * width)] = bytes.fromhex(digest)

    def __call__(self, lo: int, hi: int) -> bytes:
        key = (lo, hi)
        if key not in self.seen:
            if merkle.is_complete(lo, hi):
                self.seen[key] = _stored(self.session, lo, hi)
            else:
                k = merkle.split(hi - lo)
                self.seen[key] = merkle.node_hash(self(lo, lo + k), self(lo + k, hi))
        return self.seen[key]


def _check_size(session: Session, size: int | None, name: str) -> int:
    current = tip(session).size
    if size is None:
        return current
    if not 1 <= size <= current:
        raise ValidationFailed(
            f"the log has {current} leaves", errors={name: [f"between 1 and {current}"]}
        )
    return size


@dataclass(frozen=True)
class Inclusion:
    event_id: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]
    root: bytes


def inclusion(session: Session, event_id: int, tree_size: int | None = None) -> Inclusion:
    leaf = session.scalars(select(LogLeaf).where(LogLeaf.event_id == event_id)).first()
    if leaf is None:
        raise NotFound(
            f"event {event_id} is not in the Merkle log yet (the integrator takes events up)"
        )
    size = _check_size(session, tree_size, "tree_size")
    if leaf.leaf_index >= size:
        raise ValidationFailed(
            f"event {event_id} is leaf {leaf.leaf_index}, after a tree of {size}",
            errors={"tree_size": [f"more than {leaf.leaf_index}"]},
        )
    subtree = _Subtrees(session)
    subtree.prefetch(_ranges(lambda f: merkle.inclusion_path(leaf.leaf_index, size, f), size))
    path = merkle.inclusion_path(leaf.leaf_index, size, subtree)
    return Inclusion(
        event_id, leaf.leaf_index, size, bytes.fromhex(leaf.leaf_hash), path, subtree(0, size)
    )


def inclusion_paths(session: Session, leaf_indexes: list[int], size: int) -> dict[int, list[bytes]]:
    """The inclusion path of each leaf (all below `size`) in the tree of `size` leaves: every
    subtree the paths need read in two statements, however many leaves."""

    def path_of(index: int) -> Callable[[merkle.Subtree], list[bytes]]:
        return lambda subtrees: merkle.inclusion_path(index, size, subtrees)

    subtree = _Subtrees(session)
    subtree.prefetch([r for index in leaf_indexes for r in _ranges(path_of(index), size)])
    return {index: merkle.inclusion_path(index, size, subtree) for index in leaf_indexes}


def proofs_at_latest(
    session: Session, event_ids: list[int]
) -> tuple[LogCheckpoint | None, dict[int, dict[str, object] | None]]:
    """The latest signed checkpoint, and for each event its inclusion proof against it
    (tree_size, leaf_index, path as hex) — None for an event the checkpoint does not cover yet."""
    checkpoint = latest_checkpoint(session)
    size = checkpoint.tree_size if checkpoint else 0
    leaves: dict[int, int] = {
        event_id: index
        for event_id, index in session.execute(
            select(LogLeaf.event_id, LogLeaf.leaf_index).where(LogLeaf.event_id.in_(event_ids))
        )
    }
    covered = [index for index in leaves.values() if index < size]
    paths = inclusion_paths(session, covered, size) if covered else {}
    found: dict[int, dict[str, object] | None] = {}
    for event_id in event_ids:
        index = leaves.get(event_id)
        found[event_id] = (
            {"tree_size": size, "leaf_index": index, "path": [p.hex() for p in paths[index]]}
            if index is not None and index < size
            else None
        )
    return checkpoint, found


def consistency(session: Session, first: int, second: int) -> tuple[list[bytes], bytes, bytes]:
    """The proof that the tree of `second` leaves extends the tree of `first`, and both roots."""
    second = _check_size(session, second, "to")
    if not 1 <= first <= second:
        raise ValidationFailed(
            f"from must be between 1 and {second}", errors={"from": [f"between 1 and {second}"]}
        )
    subtree = _Subtrees(session)
    needed = _ranges(lambda f: merkle.consistency_path(first, second, f), second)
    subtree.prefetch([*needed, (0, first)])
    return merkle.consistency_path(first, second, subtree), subtree(0, first), subtree(0, second)


def _ranges(proof: Callable[[merkle.Subtree], list[bytes]], size: int) -> list[tuple[int, int]]:
    """The subtrees a proof asks for (and the root's), found by running it on placeholders."""
    asked: list[tuple[int, int]] = [(0, size)]

    def record(lo: int, hi: int) -> bytes:
        asked.append((lo, hi))
        return b""

    proof(record)
    return asked


def sign(
    session: Session, key: Ed25519PrivateKey, origin: str, now: float | None = None
) -> LogCheckpoint:
    """Integrate, then sign the tree head as a checkpoint (constant size, whatever the number of
    organizations) and keep it."""
    head = integrate(session)
    moment = int(now if now is not None else time.time())
    checkpoint = notes.Checkpoint(origin, head.size, head.root, moment)
    row = LogCheckpoint(
        tree_size=head.size,
        root_hash=head.root.hex(),
        note=notes.sign_checkpoint(checkpoint, key),
    )
    session.add(row)
    session.flush()
    return row


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    return session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.id.desc())).first()


def stored_root(session: Session, size: int) -> bytes:
    """The root of the first `size` leaves as the stored subtrees give it (what proofs use)."""
    return _Subtrees(session)(0, size)


def leaves_in_order(session: Session) -> Iterator[tuple[int, int, str, str | None]]:
    """(leaf index, event id, stored leaf hash, the event's stored hash or None if it is gone),
    in leaf order, streamed."""
    leaves, events = LogLeaf.__table__, AuditEvent.__table__
    query = (
        select(leaves.c.leaf_index, leaves.c.event_id, leaves.c.leaf_hash, events.c.hash)
        .outerjoin(events, events.c.id == leaves.c.event_id)
        .order_by(leaves.c.leaf_index)
    )
    for row in session.execute(query.execution_options(yield_per=5000)):
        yield int(row[0]), int(row[1]), str(row[2]), row[3]


def checkpoints_newest(session: Session, limit: int = 100) -> list[LogCheckpoint]:
    """The signed tree heads, newest first."""
    return list(
        session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.id.desc()).limit(limit))
    )
