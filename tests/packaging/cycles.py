"""Does the project's import graph have a cycle? ``python -m tests.packaging.cycles``

Builds the graph of ``kiosk``, ``kiosk_drivers`` and ``kiosk_voice`` with grimp (what
import-linter uses; imports inside functions count, ``if TYPE_CHECKING:`` ones do not),
prints every group of modules that import each other in a circle with one loop through
it, and exits 1 if there is any (0 and "no import cycle" otherwise).
"""

from __future__ import annotations

import sys

import grimp

ROOTS = ("kiosk", "kiosk_drivers", "kiosk_voice")


def import_cycles() -> list[tuple[list[str], list[str]]]:
    """(modules, one loop through them: first == last) per group importing in a circle."""
    graph = grimp.build_graph(*ROOTS, exclude_type_checking_imports=True)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    return [(group, _loop(group, edges)) for group in _groups(edges)]


def _groups(edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if i < len(targets):
                work.append((node, i + 1))
                nxt = targets[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    out.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(out)


def _loop(group: list[str], edges: dict[str, list[str]]) -> list[str]:
    """The shortest path from the group's first module back to itself, inside the group."""
    members, start = set(group), group[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in edges[node]:
                if nxt == start:
                    return paths[node] + [start]
                if nxt in members and nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return group


def main() -> int:
    cycles = import_cycles()
    for group, loop in cycles:
        print(f"import cycle among {len(group)} modules ({', '.join(group)}),"
              f" e.g. {' -> '.join(loop)}")
    if not cycles:
        print("no import cycle in " + ", ".join(ROOTS))
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
