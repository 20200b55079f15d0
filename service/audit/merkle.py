"""The Merkle tree of RFC 6962 (§2.1) / RFC 9162 (§2.1), over the audit log's leaves.

    leaf hash = SHA-256(0x00 ‖ leaf data)          node hash = SHA-256(0x01 ‖ left ‖ right)
    MTH(D[n]) = SHA-256() for n = 0; the leaf hash for n = 1; otherwise, with k the largest
    power of two below n, node(MTH(D[0:k]), MTH(D[k:n])).

The proofs are computed from any `subtree(lo, hi)` that answers MTH(D[lo:hi]): a list of
leaves in tests, the stored nodes in the database (service/audit/log.py). Verification follows
RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) and needs nothing but hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

Subtree = Callable[[int, int], bytes]
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def is_complete(lo: int, hi: int) -> bool:
    """Whether D[lo:hi] is one stored subtree: a power-of-two size, aligned on it."""
    size = hi - lo
    return size > 0 and size & (size - 1) == 0 and lo % size == 0


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of leaf hashes, computed directly (tests and small trees)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def list_subtree(leaves: Sequence[bytes]) -> Subtree:
    return lambda lo, hi: root_of(leaves[lo:hi])


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1, for 0 ≤ index < size."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = split(hi - lo)
        if m < k:
            path.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()  # RFC order: from the leaf's sibling up to the root's child
    return path


def consistency_path(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2, for 0 < first ≤ second."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    proof: list[bytes] = []
    lo, hi, m, whole = 0, second, first, True
    while m != hi - lo:
        k = split(hi - lo)
        if m <= k:
            proof.append(subtree(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        proof.append(subtree(lo, hi))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is a subtree of the proof
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class Frontier:
    """The complete subtrees along the right edge of a growing tree: O(log n) hashes from
    which the root of every size is known, and each new complete node as it forms."""

    def __init__(self, size: int = 0, edge: Sequence[bytes] = ()) -> None:
        self.size = size
        self.edge = list(edge)  # hashes of the right-edge subtrees, largest first

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the nodes completed by it as (level, index, hash), level 0
        being the leaf itself."""
        formed = [(0, self.size, leaf)]
        node, level, index = leaf, 0, self.size
        self.edge.append(leaf)
        while index & 1:
            self.edge.pop()
            left = self.edge.pop()
            node = node_hash(left, node)
            level, index = level + 1, index >> 1
            self.edge.append(node)
            formed.append((level, index, node))
        self.size += 1
        return formed

    def root(self) -> bytes:
        if not self.edge:
            return EMPTY_ROOT
        root = self.edge[-1]
        for left in reversed(self.edge[:-1]):
            root = node_hash(left, root)
        return root


def edge_ranges(size: int) -> list[tuple[int, int]]:
    """The (lo, hi) of the complete subtrees along the right edge of a tree of `size`."""
    ranges, lo = [], 0
    for bit in reversed(range(size.bit_length())):
        width = 1 << bit
        if size & width:
            ranges.append((lo, lo + width))
            lo += width
    return ranges
