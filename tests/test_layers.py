"""The house's layers, read from the source: no import cycle among the repo's own modules, measurement modules
(viz/measures) import no plotly, chart modules (viz/charts) import no torch, and models/ and viz/ import no streamlit.

Every import counts, lazy ones inside functions too: a cycle deferred to call time is still a cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    skip = {"tests", ".git", ".venv", "venv", "node_modules"}
    return {_module_name(p): p for p in ROOT.rglob("*.py")
            if not skip & set(p.relative_to(ROOT).parts) and not p.name.startswith(".")}


def _imported(path: Path, name: str) -> set[str]:
    """Every module name `path` imports (absolute, relative resolved; `from pkg import mod` gives pkg.mod too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def _graph() -> dict[str, set[str]]:
    """module -> the repo's modules it imports (a package's import counts for the package's __init__)."""
    sources = _sources()
    graph = {}
    for name, path in sources.items():
        targets = set()
        for imported in _imported(path, name):
            if imported in sources and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each a cycle or several."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _external(prefix: str) -> dict[str, set[str]]:
    """For each repo module under `prefix` (a folder), the top-level names of everything it imports."""
    return {name: {m.split(".")[0] for m in _imported(path, name)}
            for name, path in _sources().items() if name == prefix or name.startswith(prefix + ".")}


def test_the_graph_is_read():
    graph = _graph()
    assert "viz.probe" in graph and "viz.measures.probe" in graph["viz.probe"]
    assert "models.resnet" in graph["viz.measures.probe"] or "models.blocks" in graph["viz.measures.probe"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_the_repos_modules():
    """None allowed: the zoo's command line, which made models.zoo and models.imports import each other, is
    models/zoo_cli.py."""
    assert _cycles(_graph()) == []


def test_measurement_modules_import_no_plotly():
    modules = _external("viz.measures")
    assert modules, "no modules under viz/measures"
    assert {name: "plotly" for name, names in modules.items() if "plotly" in names} == {}


def test_chart_modules_import_no_torch():
    modules = _external("viz.charts")
    assert modules, "no modules under viz/charts"
    assert {name: sorted(names & {"torch", "captum"}) for name, names in modules.items() if names & {"torch", "captum"}} == {}


def test_measurements_do_not_import_charts():
    graph = _graph()
    assert {m: sorted(t for t in ts if t.startswith("viz.charts"))
            for m, ts in graph.items() if m.startswith("viz.measures") and any(t.startswith("viz.charts") for t in ts)} == {}


def test_models_and_viz_import_no_streamlit():
    for package in ("models", "viz"):
        modules = _external(package)
        assert {name: "streamlit" for name, names in modules.items() if "streamlit" in names} == {}, package
