"""Dependency graphs: cycles, dependents and topological order."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickwork.domain.dag import check_acyclic, dependents_of, find_cycle, topological_order
from tickwork.domain.errors import CycleError

DIAMOND = {"report": ["clean", "enrich"], "clean": ["extract"], "enrich": ["extract"]}


def test_empty_graph() -> None:
    assert find_cycle({}) is None
    assert topological_order({}) == []


def test_self_loop() -> None:
    assert find_cycle({"a": ["a"]}) == ["a", "a"]


def test_two_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]


def test_longer_cycle_in_a_bigger_graph() -> None:
    edges = {
        "a": ["b"],
        "b": ["c", "x"],
        "c": ["d"],
        "d": ["e"],
        "e": ["c"],
        "x": ["y"],
        "y": [],
        "z": ["a"],
    }
    assert find_cycle(edges) == ["c", "d", "e", "c"]


def test_cycle_reached_through_a_finished_branch() -> None:
    edges = {"a": ["b", "c"], "b": ["d"], "c": ["d", "e"], "e": ["c"]}
    assert find_cycle(edges) == ["c", "e", "c"]


def test_cycle_search_is_deterministic_whatever_the_input_order() -> None:
    forward = {"b": ["c"], "c": ["b"], "a": ["b"]}
    backward = {"a": ["b"], "c": ["b"], "b": ["c"]}
    assert find_cycle(forward) == find_cycle(backward) == ["b", "c", "b"]


def test_diamond_is_acyclic() -> None:
    assert find_cycle(DIAMOND) is None
    check_acyclic(DIAMOND)
    assert topological_order(DIAMOND) == ["extract", "clean", "enrich", "report"]


def test_disconnected_components() -> None:
    edges = {"b": ["a"], "d": ["c"], "e": [], "g": ["f"], "f": ["g"]}
    assert find_cycle(edges) == ["f", "g", "f"]
    acyclic = {"b": ["a"], "d": ["c"], "e": []}
    assert find_cycle(acyclic) is None
    assert topological_order(acyclic) == ["a", "b", "c", "d", "e"]


def test_names_only_used_as_dependencies_are_nodes() -> None:
    assert topological_order({"load": ["extract"]}) == ["extract", "load"]


def test_duplicate_dependencies_and_iterators() -> None:
    edges = {"b": iter(["a", "a"]), "c": ("a", "b", "b")}
    assert topological_order(edges) == ["a", "b", "c"]


def test_check_acyclic_raises_with_readable_path() -> None:
    with pytest.raises(CycleError) as caught:
        check_acyclic({"a": ["b"], "b": ["a"]})
    assert caught.value.path == ["a", "b", "a"]
    assert "a → b → a" in str(caught.value)
    assert caught.value.details == {"cycle": ["a", "b", "a"]}


def test_topological_order_raises_on_cycle() -> None:
    with pytest.raises(CycleError) as caught:
        topological_order({"a": ["b"], "b": ["c"], "c": ["b"], "d": []})
    assert caught.value.path == ["b", "c", "b"]
    assert "b → c → b" in caught.value.message


def test_dependents_of() -> None:
    assert dependents_of(DIAMOND, "extract") == ["clean", "enrich"]
    assert dependents_of(DIAMOND, "report") == []
    assert dependents_of(DIAMOND, "unknown") == []
    assert dependents_of({"a": ["a"], "b": ["a"]}, "a") == ["a", "b"]


N = 100_000


def _chain(n: int) -> dict[str, list[str]]:
    """n0 depends on n1, which depends on n2, …; names zero-padded so they sort numerically."""
    return {f"n{i:06d}": [f"n{i + 1:06d}"] for i in range(n - 1)}


def test_long_chain_has_no_recursion_problem() -> None:
    edges = _chain(N)
    assert find_cycle(edges) is None
    check_acyclic(edges)
    order = topological_order(edges)
    assert len(order) == N
    assert order[0] == f"n{N - 1:06d}"
    assert order[-1] == "n000000"


def test_long_cycle_is_found_whole() -> None:
    edges = _chain(N)
    edges[f"n{N - 1:06d}"] = ["n000000"]
    cycle = find_cycle(edges)
    assert cycle is not None
    assert len(cycle) == N + 1
    assert cycle[0] == cycle[-1] == "n000000"
    assert cycle[1] == "n000001"


NAMES = st.sampled_from("abcdefgh")


@given(st.dictionaries(NAMES, st.lists(NAMES, max_size=4), max_size=8))
def test_cycle_or_order_property(edges: dict[str, list[str]]) -> None:
    cycle = find_cycle(edges)
    if cycle is None:
        order = topological_order(edges)
        position = {name: i for i, name in enumerate(order)}
        assert len(position) == len(order)
        for job, deps in edges.items():
            assert all(position[dep] < position[job] for dep in deps)
    else:
        assert cycle[0] == cycle[-1]
        assert len(set(cycle)) == len(cycle) - 1
        for job, dep in pairwise(cycle):
            assert dep in edges[job]
        with pytest.raises(CycleError):
            topological_order(edges)
