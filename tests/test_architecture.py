"""The floors of docs/architecture.md hold: the import contracts and no import cycle anywhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.import_cycles import PACKAGES, cycles, import_graph

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_cycle_between_project_modules() -> None:
    assert cycles(import_graph(ROOT)) == []


def test_the_cycle_check_sees_function_level_imports_and_package_reexports(tmp_path: Path) -> None:
    pkg = tmp_path / "bench"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from bench import b  # function level\n    return b\n")
    (pkg / "b.py").write_text("import bench.a\n")
    (pkg / "sub" / "__init__.py").write_text("from bench.sub.c import X  # re-export\n")
    (pkg / "sub" / "c.py").write_text("import bench.sub\nX = 1\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bench.e\n")
    (pkg / "e.py").write_text("import bench.d\n")
    for other in PACKAGES[1:]:
        (tmp_path / other).mkdir()
    assert sorted(cycles(import_graph(tmp_path))) == [["bench.a", "bench.b"], ["bench.sub", "bench.sub.c"]]


def copy_project(tmp_path: Path) -> Path:
    for name in (*PACKAGES, "conf"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(binary), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_import_contracts_hold_and_a_planted_climbing_import_breaks_them(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    kept = lint_imports(root)
    assert kept.returncode == 0, kept.stdout[-3000:]
    assert "0 broken" in kept.stdout
    io = root / "bench" / "core" / "io.py"
    io.write_text(
        io.read_text() + "\n\ndef planted():\n    from bench.run import job  # climbs from the ground floor\n"
    )
    broken = lint_imports(root)
    assert broken.returncode == 1
    assert "bench.core.io -> bench.run.job" in broken.stdout and "BROKEN" in broken.stdout
