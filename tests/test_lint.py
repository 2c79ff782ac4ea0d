"""The repository lints clean: no unused or undefined names, no syntax errors.

``ruff check`` with the rules in pyproject.toml (``[tool.ruff.lint]``: pyflakes ``F`` and syntax
``E9``) over everything git would ship: the package, tests, benchmarks, scripts, data scripts and
the notebooks, whose cells ruff reads as code. An unused import in a notebook's set-up cell is
what a student sees first (notebooks/_build.py's ``setup(uses=...)`` keeps them out).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ruff(*arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *arguments]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_repository_and_its_notebooks_lint_clean():
    result = _ruff(".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lint_reads_notebook_cells(tmp_path):
    """A notebook with an unused import fails the same check (so the test above can fail)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook(cells=[new_code_cell("import numpy as np\nprint('hello')")])
    path = tmp_path / "unused.ipynb"
    nbformat.write(notebook, path)
    result = _ruff("--config", str(ROOT / "pyproject.toml"), str(path))
    assert result.returncode == 1
    assert "F401" in result.stdout and "unused.ipynb" in result.stdout
