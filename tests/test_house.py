"""The house (issue 22): pages/ holds exactly the navigation's pages, each drawn inside the frame, and only the one
compatibility module (frame/streamlit_compat.py) imports a private Streamlit path; the rest uses public Streamlit."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPAT = ROOT / "frame" / "streamlit_compat.py"
# Public Streamlit besides `import streamlit as st`: the testing API (bench/probe.py runs AppTest) and components
PUBLIC = ("streamlit.testing", "streamlit.components.v1")


def sources() -> list[Path]:
    """Every .py of the project outside tests/ (and outside hidden folders, caches and artifacts)."""
    skip = {"tests", "artifacts", "__pycache__", "shared"}
    return sorted(p for p in ROOT.rglob("*.py")
                  if not ({part for part in p.relative_to(ROOT).parts[:-1]} & skip
                          or any(part.startswith(".") for part in p.relative_to(ROOT).parts)))


def navigation_files() -> list[str]:
    """The files app.py's st.Page entries name."""
    tree = ast.parse((ROOT / "app.py").read_text())
    return [c.args[0].value for c in ast.walk(tree)
            if isinstance(c, ast.Call) and ast.unparse(c.func) == "st.Page" and isinstance(c.args[0], ast.Constant)]


def streamlit_imports(path: Path) -> set[str]:
    """The streamlit modules a file imports (`import streamlit.x`, `from streamlit.x import y`, `from streamlit
    import x`: streamlit.x)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "streamlit"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "streamlit":
            found |= {node.module} if node.module != "streamlit" else {f"streamlit.{a.name}" for a in node.names}
    return found


def private(module: str) -> bool:
    return module != "streamlit" and not module.startswith(PUBLIC)


def test_pages_holds_exactly_the_files_of_the_navigation():
    listed = navigation_files()
    assert len(listed) == len(set(listed)) >= 9
    held = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").iterdir() if p.name != "__pycache__")
    assert held == sorted(listed)


def test_every_page_asks_to_be_drawn_inside_the_frame():
    for name in navigation_files():
        calls = [ast.unparse(c) for c in ast.walk(ast.parse((ROOT / name).read_text())) if isinstance(c, ast.Call)]
        assert "ui.require_frame(__file__)" in calls, f"{name} does not call ui.require_frame(__file__)"


def test_only_the_compatibility_module_imports_a_private_streamlit_path():
    files = sources()
    assert ROOT / "app.py" in files and ROOT / "frame" / "ui.py" in files and ROOT / "bench" / "load.py" in files
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in streamlit_imports(p) if private(m))
                 for p in files if p != COMPAT}
    assert not {f: m for f, m in offenders.items() if m}, "import public Streamlit only; or add to the compat module"
    assert {m for m in streamlit_imports(COMPAT) if private(m)}, "the compatibility module no longer needs internals?"


def test_the_import_check_sees_every_form_of_import(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("import streamlit as st\nimport streamlit.web.cli\nfrom streamlit.runtime import Runtime\n"
                 "from streamlit import logger\nfrom streamlit.testing.v1 import AppTest\n")
    assert {m for m in streamlit_imports(f) if private(m)} == {"streamlit.web.cli", "streamlit.runtime",
                                                              "streamlit.logger"}
