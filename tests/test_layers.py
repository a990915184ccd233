"""The layers import downwards only: sources -> model -> engine -> faces -> cli.

Checked twice: statically, on every import statement in the package (lazy ones inside
functions too), and at run time in a fresh interpreter, where importing the data
layers and running --once must leave Textual (and the exporter's library) unloaded.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import kernel_lines as K

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ctwatch")
ORDER = ("sources", "model", "engine", "faces", "cli")
# What each layer may import from ctwatch (itself included). The model may use the
# sources' types and validators; it never reads anything itself.
ALLOWED = {
    "sources": {"sources"},
    "model": {"model", "sources"},
    "engine": {"engine", "model", "sources"},
    "faces": {"faces", "engine", "model", "sources"},
    "cli": set(ORDER),
}
TOOLKITS = ("textual", "rich", "prometheus_client")  # only faces may import these


def layer_of(path: str) -> str:
    rel = os.path.relpath(path, PACKAGE)
    top = rel.split(os.sep)[0]
    if top.endswith(".py"):
        top = top[:-3]
    return {"__main__": "cli", "__init__": "sources", "demo": "sources"}.get(top, top)


def imports(path: str) -> list:
    """Every module an import statement in `path` names, with its line number."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
            if node.module == "ctwatch":  # from ctwatch import cli
                found += [(f"ctwatch.{a.name}", node.lineno) for a in node.names]
    return found


def python_files() -> list:
    out = []
    for folder, _, names in os.walk(PACKAGE):
        out += [os.path.join(folder, n) for n in names if n.endswith(".py")]
    return sorted(out)


def test_every_module_belongs_to_a_layer():
    layers = {layer_of(p) for p in python_files()}
    assert layers <= set(ORDER), layers - set(ORDER)
    assert layers == set(ORDER)  # every layer exists: an empty walk cannot pass


def test_imports_point_down_only():
    wrong = []
    for path in python_files():
        layer = layer_of(path)
        for name, line in imports(path):
            parts = name.split(".")
            where = os.path.relpath(path, PACKAGE) + f":{line}"
            if parts[0] == "ctwatch" and len(parts) > 1 and parts[1] != "__version__":
                target = {"__main__": "cli"}.get(parts[1], parts[1])
                if target not in ALLOWED[layer]:
                    wrong.append(f"{where} ({layer}) imports {name}")
            elif parts[0] in TOOLKITS and layer not in ("faces", "cli"):
                wrong.append(f"{where} ({layer}) imports {name}")
    assert wrong == []


def test_the_check_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ctwatch.faces.ui import app\n    import textual\n")
    assert [n for n, _ in imports(str(bad))] == ["ctwatch.faces.ui", "textual"]


# Runs in a fresh interpreter: every module of the data layers (found by pkgutil, so new
# ones are covered), then --once on a tree; Textual must still be unloaded.
RUNTIME = r"""
import importlib, json, pkgutil, sys
import ctwatch.sources, ctwatch.model, ctwatch.engine
names = []
for pkg in (ctwatch.sources, ctwatch.model, ctwatch.engine):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)
        names.append(info.name)
from ctwatch import cli
code = cli.main(["--once", "--json", "--rate-window", "0", "--root", sys.argv[1]])
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"textual", "prometheus_client"})
print(json.dumps({"modules": names, "loaded": loaded, "code": code}))
"""


def test_data_layers_and_once_leave_the_toolkits_unloaded(tmp_path):
    root = K.modern_tree(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", RUNTIME, root], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert result["loaded"] == [], f"--once or the data layers loaded {result['loaded']}"
    found = set(result["modules"])
    for name in ("ctwatch.sources.procfs", "ctwatch.model.scan", "ctwatch.engine.monitor"):
        assert name in found  # the walk really found the modules


# The exporter's whole path (every faces/exporter module, then --once --textfile) runs
# headless on servers without a terminal: Textual must stay unloaded there too.
EXPORTER = r"""
import importlib, json, pkgutil, sys
import ctwatch.faces.exporter as pkg
names = [info.name for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
for name in names:
    importlib.import_module(name)
from ctwatch import cli
code = cli.main(["--once", "--textfile", sys.argv[2], "--root", sys.argv[1]])
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"textual", "prometheus_client"})
print(json.dumps({"modules": names, "loaded": loaded, "code": code}))
"""


def test_the_exporter_leaves_textual_unloaded(tmp_path):
    root = K.modern_tree(tmp_path / "tree")
    out = str(tmp_path / "ctwatch.prom")
    proc = subprocess.run(
        [sys.executable, "-c", EXPORTER, root, out], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert result["loaded"] == ["prometheus_client"]
    assert "ctwatch.faces.exporter.metrics" in result["modules"]
    assert os.path.getsize(out) > 0
