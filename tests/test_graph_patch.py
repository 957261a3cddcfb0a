"""`Adjacency.patched`: an incremental refresh's change of a few edges gives the same compressed
rows as building them from the whole edge list (`Adjacency.of`)."""

from __future__ import annotations

import numpy as np
import pytest

from relationships.graph import Adjacency


def edge_list(edges: dict[tuple[int, int], float]) -> Adjacency:
    keys = sorted(edges)
    return Adjacency.of(
        np.array([k[0] for k in keys], dtype=np.int32),
        np.array([k[1] for k in keys], dtype=np.int32),
        np.array([edges[k] for k in keys], dtype=np.float32),
    )


def same(one: Adjacency, other: Adjacency) -> bool:
    """The same edges; the index may be longer by empty nodes (ids past the last edge)."""
    nodes = max(len(one.indptr), len(other.indptr))

    def padded(indptr: np.ndarray) -> np.ndarray:
        return np.concatenate([indptr, np.full(nodes - len(indptr), indptr[-1])])

    return (
        np.array_equal(padded(one.indptr), padded(other.indptr))
        and np.array_equal(one.targets, other.targets)
        and np.array_equal(one.strengths, other.strengths)
    )


@pytest.mark.parametrize("seed", range(40))
def test_a_patch_equals_a_build_from_the_whole_edge_list(seed: int) -> None:
    rng = np.random.default_rng(seed)
    nodes = int(rng.integers(2, 60))
    edges: dict[tuple[int, int], float] = {}
    for _ in range(int(rng.integers(0, 200))):
        a, b = sorted(int(x) for x in rng.integers(0, nodes, 2))
        if a != b:
            edges[(a, b)] = float(np.float32(rng.uniform(0.01, 1)))
    before = edge_list(edges)
    # Changed, removed (strength 0), added (some to ids past every node so far) and pairs
    # that weigh nothing before or after.
    change: dict[tuple[int, int], float] = {}
    existing = sorted(edges)
    for index in rng.permutation(len(existing))[: int(rng.integers(0, len(existing) + 1))]:
        change[existing[index]] = float(np.float32(rng.choice([0.0, rng.uniform(0.01, 1)])))
    for _ in range(int(rng.integers(0, 30))):
        a, b = sorted(int(x) for x in rng.integers(0, nodes + 20, 2))
        if a != b and (a, b) not in edges:
            change[(a, b)] = float(np.float32(rng.choice([0.0, rng.uniform(0.01, 1)])))
    keys = sorted(change, key=lambda _: rng.random())  # any order
    patched = before.patched(
        np.array([k[0] for k in keys], dtype=np.int32),
        np.array([k[1] for k in keys], dtype=np.int32),
        np.array([change[k] for k in keys], dtype=np.float32),
    )
    after = {**edges, **change}
    expected = edge_list({k: v for k, v in after.items() if v > 0})
    assert same(patched, expected)
    for (a, b), value in after.items():
        assert patched.strength(a, b) == patched.strength(b, a) == pytest.approx(value)


def test_no_change_is_the_same_object() -> None:
    adjacency = edge_list({(1, 2): 0.5})
    empty = np.zeros(0, dtype=np.int32)
    assert adjacency.patched(empty, empty, np.zeros(0, dtype=np.float32)) is adjacency
