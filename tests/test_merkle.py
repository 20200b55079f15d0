"""The audit log's Merkle tree against an independent RFC 6962 / 9162 implementation (pymerkle,
a test dependency): the same root for every size 1..130, the same inclusion paths, consistency
proofs with the same hashes — and every proof verifies, while a changed one does not."""

from __future__ import annotations

import functools
import random
import warnings

import pytest
from pymerkle import InmemoryTree

from service.audit import merkle

SIZES = range(1, 131)
ENTRIES = [f"event {n}".encode() for n in range(max(SIZES))]


@functools.cache
def reference() -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")
    for entry in ENTRIES:
        tree.append_entry(entry)
    return tree


LEAVES = [merkle.leaf_hash(e) for e in ENTRIES]


@functools.cache
def subtree(lo: int, hi: int) -> bytes:
    return merkle.root_of(LEAVES[lo:hi])


def rfc_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2, written as the RFC writes it (recursively),
    with MTH taken from pymerkle: the reference for the service's iterative version."""
    n = len(leaves)
    if m == n:
        return [] if whole else [reference_root(leaves)]
    k = merkle.split(n)
    if m <= k:
        return [*rfc_subproof(m, leaves[:k], whole), reference_root(leaves[k:])]
    return [*rfc_subproof(m - k, leaves[k:], False), reference_root(leaves[:k])]


def reference_root(leaves: list[bytes]) -> bytes:
    lo = LEAVES.index(leaves[0])
    tree = InmemoryTree(algorithm="sha256")
    for entry in ENTRIES[lo : lo + len(leaves)]:
        tree.append_entry(entry)
    root: bytes = tree.get_root(len(leaves))
    return root


def pairs(size: int, rng: random.Random) -> list[int]:
    """Every index of small trees, a sample (with both ends) of larger ones."""
    if size <= 40:
        return list(range(size))
    return sorted({0, size - 1, *rng.sample(range(size), 12)})


def test_leaf_and_node_hashes_follow_rfc_6962() -> None:
    tree = reference()
    assert merkle.leaf_hash(ENTRIES[0]) == tree.hash_buff(ENTRIES[0])  # 0x00 ‖ data
    assert merkle.node_hash(LEAVES[0], LEAVES[1]) == tree.hash_pair(LEAVES[0], LEAVES[1])
    assert merkle.root_of([]) == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", SIZES)
def test_the_root_of_every_size_is_the_reference_root(size: int) -> None:
    tree = reference()
    expected = tree.get_root(size)
    assert merkle.root_of(LEAVES[:size]) == expected
    frontier = merkle.Frontier()
    for leaf in LEAVES[:size]:
        frontier.append(leaf)
    assert frontier.root() == expected
    assert [hi - lo for lo, hi in merkle.edge_ranges(size)] == [
        1 << b for b in reversed(range(size.bit_length())) if size >> b & 1
    ]


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_proofs_match_the_reference_and_verify(size: int) -> None:
    tree, rng = reference(), random.Random(size)
    root = tree.get_root(size)
    for index in pairs(size, rng):
        path = merkle.inclusion_path(index, size, subtree)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            theirs = tree.prove_inclusion(index + 1, size).serialize()["path"]  # 1-based
        assert [p.hex() for p in path] == theirs[1:]  # theirs starts with the leaf itself
        assert merkle.verify_inclusion(LEAVES[index], index, size, path, root)
        other = LEAVES[(index + 1) % len(LEAVES)]
        assert not merkle.verify_inclusion(other, index, size, path, root)  # another event
        if path:
            forged = [bytes(32), *path[1:]]
            assert not merkle.verify_inclusion(LEAVES[index], index, size, forged, root)
            assert not merkle.verify_inclusion(LEAVES[index], index, size, path[:-1], root)


@pytest.mark.parametrize("second", SIZES)
def test_consistency_proofs_match_the_reference_and_verify(second: int) -> None:
    tree, rng = reference(), random.Random(1000 + second)
    second_root = tree.get_root(second)
    for first in pairs(second, rng):
        first += 1  # 1..second
        first_root = tree.get_root(first)
        proof = merkle.consistency_path(first, second, subtree)
        assert proof == rfc_subproof(first, LEAVES[:second], True)
        assert merkle.verify_consistency(first, second, proof, first_root, second_root)
        if first < second:
            assert not merkle.verify_consistency(first, second, proof, second_root, first_root)
            assert not merkle.verify_consistency(first, second, proof[:-1], first_root, second_root)
            other = merkle.root_of([*LEAVES[: first - 1], bytes(32)])  # a forked history
            assert not merkle.verify_consistency(first, second, proof, other, second_root)


def test_proofs_refuse_leaves_outside_the_tree() -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_path(5, 5, subtree)
    with pytest.raises(ValueError):
        merkle.consistency_path(0, 5, subtree)
    with pytest.raises(ValueError):
        merkle.consistency_path(6, 5, subtree)
