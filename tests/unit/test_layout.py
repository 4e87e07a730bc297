"""The layout's rules, checked from the source files: the direction of dependencies, no mutual imports, tools
apart from services, and nothing registered at import (``tests/integration/test_entry_points.py`` checks that
every entry point answers each agent with that agent's own offline handler).

Every import counts: at module level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# core <- ingest, analytics <- services <- tools <- agents <- graphs <- cli, chat <- chainlit_app
LAYERS = {"core": 0, "ingest": 1, "analytics": 1, "services": 2, "tools": 3, "agents": 4, "graphs": 5, "cli": 6,
          "chat": 6, "chainlit_app": 7}
# packages of one layer that must not import each other
APART = ({"ingest", "analytics"}, {"cli", "chat"})


def _modules() -> dict[str, Path]:
    out = {"chainlit_app": ROOT / "chainlit_app.py"}
    for top in LAYERS:
        base = ROOT / top
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """First-party modules that ``name`` imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_source_tree_was_found() -> None:
    assert {"agents.registry", "core.offline_llm", "services.telemetry", "tools.ops_tools"} <= set(MODULES)
    assert "agents.judge.agent" in GRAPH["graphs.lifecycle_stages"]


def test_no_import_runs_from_a_lower_layer_to_a_higher_one() -> None:
    wrong = sorted(f"{a} -> {b}" for a, deps in GRAPH.items() for b in deps
                   if LAYERS[_top(b)] > LAYERS[_top(a)]
                   or any({_top(a), _top(b)} == pair for pair in APART))
    assert not wrong, "imports against the direction of dependencies:\n" + "\n".join(wrong)


def test_no_two_modules_import_each_other() -> None:
    pairs = sorted({tuple(sorted((a, b))) for a, deps in GRAPH.items() for b in deps if a in GRAPH.get(b, set())})
    assert not pairs, f"mutual imports: {pairs}"


def test_tools_hold_langchain_tools_only() -> None:
    """Every public function or class a tools/ module defines is a LangChain tool or an exception the tools raise
    (helpers are private; services live in ``services/``)."""
    import importlib

    from langchain_core.tools import BaseTool

    for name in (m for m in MODULES if m.startswith("tools.")):
        module = importlib.import_module(name)
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        public = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)
                  and not n.name.startswith("_")]
        assert public, f"{name} defines no tool"
        wrong = [n for n in public if not isinstance(getattr(module, n), BaseTool)
                 and not (isinstance(getattr(module, n), type) and issubclass(getattr(module, n), Exception))]
        assert not wrong, f"{name}: not tools: {wrong}"


def run_python(code: str, **env: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter at the repository root; its last stdout line is JSON."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_importing_agents_tools_and_services_registers_nothing(tmp_path: Path) -> None:
    names = sorted(m for m in MODULES if _top(m) in ("agents", "tools", "services"))
    out = run_python(f"""
import importlib, json
for name in {names!r}:
    importlib.import_module(name)
from core.offline_llm import registered_handlers
from agents import targets
print(json.dumps({{"handlers": registered_handlers(), "targets": sorted(map(str, targets._FACTORIES))}}))
""", OPSGRAPH_HOME=str(tmp_path))
    assert out == {"handlers": {"structured": {}, "planner": {}, "text": {}}, "targets": []}
