"""The documentation site: Sphinx builds docs/ warning-free, and the API reference is complete.

The build (``python -m sphinx -W --keep-going -b html docs OUT``) needs the ``docs`` extra
(Sphinx, numpydoc, MyST) and is skipped without it; it imports the modules (autodoc) but runs
no simulation and compiles nothing.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "ctfa_brian"


def _public_modules():
    """Dotted names of the package's modules that declare ``__all__`` (none of them private)."""
    out = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if any(p.startswith("_") for p in parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
               for node in tree.body):
            out.add(".".join(parts))
    return out


def test_every_public_module_is_in_the_api_reference():
    documented = set()
    for page in (DOCS / "reference").glob("*.rst"):
        documented |= set(re.findall(r"^\.\. automodule:: (\S+)", page.read_text("utf-8"), re.M))
    missing = sorted(_public_modules() - documented)
    assert not missing, f"add to a page in docs/reference/: {missing}"


def test_every_page_is_in_the_site():
    """Each Markdown page of docs/ is a page of the site (the build also warns otherwise)."""
    index = (DOCS / "index.md").read_text("utf-8")
    pages = {p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")}
    entries = {line.strip() for line in index.splitlines()}
    missing = sorted(pages - {"index"} - entries)
    assert not missing, f"add to a toctree in docs/index.md: {missing}"


def test_sphinx_builds_the_site_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    pytest.importorskip("numpydoc")
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]

    index = (out / "index.html").read_text("utf-8")
    for page in ("model", "api", "protocols/README", "protocols/delay_sweep", "reference/index"):
        assert (out / f"{page}.html").is_file(), page
        assert f'href="{page}.html"' in index, page
    # The API reference, from the docstrings (numpydoc's Parameters section rendered).
    model = (out / "reference" / "model.html").read_text("utf-8")
    assert 'id="ctfa_brian.parameters.ModelParameters"' in model
    assert "tau_prop" in model and "Parameters" in model
    assert (out / "reference" / "protocols.html").is_file()
    # A protocol page with its figure copied next to the pages.
    sweep = (out / "protocols" / "delay_sweep.html").read_text("utf-8")
    assert 'src="../_images/delay_sweep.png"' in sweep
    assert (out / "_images" / "delay_sweep.png").stat().st_size > 0
    # Links between the Markdown pages point at pages, not at .md files.
    for html in out.rglob("*.html"):
        assert not re.search(r'href="(?!https?:)[^"#]*\.md[#"]', html.read_text("utf-8")), html
