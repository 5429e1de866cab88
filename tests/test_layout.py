"""The package's layout: small modules, no import cycle, laws that simulate nothing.

The imports are read with `ast` from the sources (module level and inside functions alike), so
a cycle that only closes at call time is found too.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ctfa_brian"
MAX_LINES = 450
#: What a law module may import: NumPy, SciPy, the standard library, Brian2's units and the
#: package's value checks; nothing that builds Brian2 objects.
LAW_IMPORTS = {"numpy", "scipy", "csv", "math", "dataclasses", "pathlib", "ctfa_brian.checks"}
LAW_BRIAN_NAMES = {"Quantity", "second", "ms", "Hz"}


def _modules():
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name, path):
    """``[(imported module, names)]`` of every import statement in the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            out.append((target, tuple(alias.name for alias in node.names)))
    return out


def _graph():
    graph = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, names in _imports(name, path):
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            if subs:
                graph[name].update(subs)
            if target in MODULES and len(subs) < len(names or (None,)):
                graph[name].add(target)
    return graph


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_module_is_longer_than_the_limit():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_no_import_cycle():
    assert _cycle(_graph()) is None, f"import cycle: {' -> '.join(_cycle(_graph()))}"


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("name", sorted(n for n in MODULES if ".protocols.laws" in n))
def test_laws_import_nothing_that_simulates(name):
    for target, names in _imports(name, MODULES[name]):
        if target == "brian2":
            assert set(names) <= LAW_BRIAN_NAMES, f"{name} imports {names} from brian2"
        else:
            top = target.split(".")[0]
            assert target in LAW_IMPORTS or top in ("numpy", "scipy"), f"{name} imports {target}"
