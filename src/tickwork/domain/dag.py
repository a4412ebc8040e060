"""Dependency graphs keyed by job name: ``edges[job]`` lists the jobs that ``job`` depends on.

Everything is iterative (no recursion limit at 100k+ nodes) and deterministic (sorted order).
Names that appear only as dependencies are nodes too.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping

from tickwork.domain.errors import CycleError

Edges = Mapping[str, Iterable[str]]
_Graph = dict[str, list[str]]


def find_cycle(edges: Edges) -> list[str] | None:
    """A cycle as a path whose first and last names are equal (``["a", "b", "a"]``), or None."""
    graph = _normalise(edges)
    finished: set[str] = set()
    for root in sorted(graph):
        if root not in finished:
            cycle = _cycle_from(graph, root, finished)
            if cycle is not None:
                return cycle
    return None


def check_acyclic(edges: Edges) -> None:
    """Raise CycleError naming the path if ``edges`` has a cycle."""
    cycle = find_cycle(edges)
    if cycle is not None:
        raise CycleError(cycle)


def dependents_of(edges: Edges, name: str) -> list[str]:
    """The jobs that depend directly on ``name``, sorted."""
    return sorted(job for job, deps in edges.items() if name in set(deps))


def topological_order(edges: Edges) -> list[str]:
    """Every node, dependencies before dependents (smallest name first among ties)."""
    graph = _normalise(edges)
    waiting = {job: len(deps) for job, deps in graph.items()}
    dependents = _reverse(graph)
    ready = [job for job, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        job = heapq.heappop(ready)
        order.append(job)
        for dependent in dependents[job]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    if len(order) < len(graph):
        check_acyclic(graph)
    return order


def _normalise(edges: Edges) -> _Graph:
    """Sorted, de-duplicated dependency lists, with a key for every node mentioned."""
    graph: _Graph = {job: sorted(set(deps)) for job, deps in edges.items()}
    for deps in list(graph.values()):
        for dep in deps:
            graph.setdefault(dep, [])
    return graph


def _reverse(graph: _Graph) -> _Graph:
    dependents: _Graph = {job: [] for job in graph}
    for job, deps in graph.items():
        for dep in deps:
            dependents[dep].append(job)
    return dependents


def _cycle_from(graph: _Graph, root: str, finished: set[str]) -> list[str] | None:
    """Depth-first search from ``root``; ``path`` is the current chain of dependencies."""
    path = [root]
    position = {root: 0}
    pending: list[Iterator[str]] = [iter(graph[root])]
    while pending:
        dep = next(pending[-1], None)
        if dep is None:
            done = path.pop()
            del position[done]
            finished.add(done)
            pending.pop()
            continue
        if dep in position:
            return [*path[position[dep] :], dep]
        if dep not in finished:
            position[dep] = len(path)
            path.append(dep)
            pending.append(iter(graph[dep]))
    return None
