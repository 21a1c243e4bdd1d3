"""flows/ imports form no circle: the CLI imports the flows, never the other way round."""

from __future__ import annotations

from pathlib import Path

from _import_scan import imported_modules

REPO = Path(__file__).resolve().parents[3]


def module_name(path: Path) -> str:
    """The import name of a file under a top-level folder (``flows/cli/x.py`` -> tsalign.flows.cli.x)."""
    parts = ["tsalign", *path.relative_to(REPO).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (top level or inside functions)."""
    paths = {module_name(p): p for p in (REPO / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        graph[module] = {n for n in imported_modules(path) if n in paths and n != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_flows_import_no_circle() -> None:
    graph = import_graph("flows")
    assert {"tsalign.flows.cli", "tsalign.flows.pipeline", "tsalign.flows.deployments"} <= set(
        graph
    )
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_find_cycle_reports_the_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
