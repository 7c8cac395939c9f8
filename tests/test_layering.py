"""The import graph of walkabout/ (module-level and function-level imports): no module
imports one that imports it back, and the layers point one way, so a function-level
import can never hide a cycle. Run as a script to print the graph's summary."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "walkabout"
# a package may import the ones listed after it, never those before it
LAYERS = [
    "walkabout.routes",
    "walkabout.notify",
    "walkabout.reports",
    "walkabout.forms",
    "walkabout.services",
]


def modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the walkabout modules it imports, anywhere in the file."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, (path, is_package) in known.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = name.split(".") if is_package else name.split(".")[:-1]
                if node.level:
                    base = base[: len(base) - (node.level - 1)] + (
                        node.module.split(".") if node.module else []
                    )
                else:
                    base = node.module.split(".")
                parent = ".".join(base)
                targets = [
                    f"{parent}.{a.name}" if f"{parent}.{a.name}" in known else parent for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            graph[name].update(t for t in targets if t in known and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that reach each other (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer(name: str) -> str | None:
    return next((top for top in LAYERS if name == top or name.startswith(top + ".")), None)


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for source, targets in graph.items():
        for target in targets:
            low, high = layer(source), layer(target)
            if low and high and LAYERS.index(high) < LAYERS.index(low):
                wrong.append(f"{source} -> {target}")
    return sorted(wrong)


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_services_import_no_routes_notify_reports_or_forms():
    assert layer_violations(import_graph()) == []


if __name__ == "__main__":
    graph = import_graph()
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} imports")
    print("cycles:", cycles(graph) or "none")
    print("layer violations:", layer_violations(graph) or "none")
