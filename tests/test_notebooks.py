"""Fast checks of the course notebooks, without executing them (scripts/run_notebooks.py does that).

Every numbered notebook (notebooks/NN_*.ipynb) must be committed stripped with a python3 kernel,
follow the course layout (../shared/STYLE.md), take its paths from its parameters cell, use the
package instead of redefining it, have its solutions, be executed by the CI runner, and be
exactly what its builder script (notebooks/_build*.py) writes.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from project_scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
BUILDERS = sorted(NOTEBOOK_DIR.glob("_build*.py"))
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def python_of(cell: dict) -> str:
    """A code cell's source with IPython magics and shell escapes blanked (line numbers kept)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source(cell).splitlines())


def code_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def is_parameters(cell: dict) -> bool:
    return "parameters" in cell.get("metadata", {}).get("tags", [])


def package_names() -> set[str]:
    """Public classes and functions defined at module level anywhere in nlvfi (read, not imported)."""
    names = set()
    for module in (ROOT / "nlvfi").rglob("*.py"):
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                names.add(node.name)
    return names


def load_runner():
    return load_script("scripts/run_notebooks.py")


ids = [path.stem for path in NOTEBOOKS]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_committed_stripped_with_python3_kernel(path):
    notebook = load(path)
    assert notebook["metadata"].get("kernelspec") == KERNELSPEC, f"{path.name}: kernelspec must be {KERNELSPEC}"
    for index, cell in enumerate(code_cells(notebook)):
        assert cell.get("outputs") == [], f"{path.name}: code cell {index} has outputs; commit notebooks stripped"
        assert cell.get("execution_count") is None, f"{path.name}: code cell {index} has an execution count"
    assert "papermill" not in notebook["metadata"], f"{path.name} is an executed copy (papermill metadata); commit the source"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_code_cell_is_valid_python(path):
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] == "code":
            try:
                ast.parse(python_of(cell))
            except SyntaxError as error:
                pytest.fail(f"{path.name}, cell {index}: {error}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_title_cell(path):
    first = load(path)["cells"][0]
    text = source(first)
    number = path.name[:2]
    assert first["cell_type"] == "markdown" and text.startswith(f"# {number} · "), (
        f"{path.name}: the first cell must be markdown starting '# {number} · Title'"
    )
    for required in ("You will learn", "(1)", "Method:", "Runs in:"):
        assert required in text, f"{path.name}: the title cell lacks {required!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_parameters_cell_defines_profile_and_seed(path):
    cells = [cell for cell in code_cells(load(path)) if is_parameters(cell)]
    assert len(cells) == 1, f"{path.name}: needs exactly one code cell tagged 'parameters', found {len(cells)}"
    assigned = {}
    for node in ast.parse(python_of(cells[0])).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node.value.value
    assert assigned.get("PROFILE") == "ci", f"{path.name}: the parameters cell must set PROFILE = \"ci\""
    assert isinstance(assigned.get("SEED"), int), f"{path.name}: the parameters cell must set SEED to an int"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_relative_paths_live_in_the_parameters_cell(path):
    """The runner passes path parameters as absolute paths; a "../x" elsewhere breaks the executed copy."""
    for index, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code" or is_parameters(cell):
            continue
        for node in ast.walk(ast.parse(python_of(cell))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(("../", "./")):
                pytest.fail(f"{path.name}, cell {index}: path {node.value!r} must be a parameter in the parameters cell")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_summary_and_exercises_sections(path):
    headings = [line.strip() for cell in load(path)["cells"] if cell["cell_type"] == "markdown" for line in source(cell).splitlines()]
    for section in ("## Summary", "## Exercises"):
        assert section in headings, f"{path.name}: no '{section}' heading"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_uses_the_package_and_never_redefines_it(path):
    notebook = load(path)
    trees = [ast.parse(python_of(cell)) for cell in code_cells(notebook)]
    imports_nlvfi = any(
        (isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "nlvfi" for alias in node.names))
        or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "nlvfi")
        for tree in trees
        for node in ast.walk(tree)
    )
    assert imports_nlvfi, f"{path.name} does not import nlvfi"
    defined = {
        node.name
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    shadowed = sorted(defined & package_names())
    assert not shadowed, f"{path.name} redefines what nlvfi has: {shadowed}; import them from the package"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_solutions_exist(path):
    solutions = NOTEBOOK_DIR / "solutions" / f"{path.stem}.md"
    assert solutions.is_file() and solutions.read_text(encoding="utf-8").strip(), f"missing {solutions.relative_to(ROOT)}"


def test_ci_runner_executes_every_notebook_on_disk():
    """No notebook can escape CI: every .ipynb under notebooks/ is one the runner executes."""
    on_disk = {
        path.resolve()
        for path in NOTEBOOK_DIR.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts
    }
    executed = {path.resolve() for path in load_runner().discover()}
    escaped = sorted(str(path.relative_to(ROOT)) for path in on_disk - executed)
    assert not escaped, f"notebooks CI would not execute (name them notebooks/NN_name.ipynb or remove them): {escaped}"
    assert executed == {path.resolve() for path in NOTEBOOKS}


def test_builders_write_exactly_the_committed_notebooks(tmp_path):
    """Each notebooks/_build*.py, run on a copy, writes notebooks identical to the committed ones."""
    assert BUILDERS, "no notebooks/_build*.py builder scripts"
    for builder in BUILDERS:  # copied together: a builder may import helpers from another
        shutil.copy(builder, tmp_path / builder.name)
    made_by: dict[str, str] = {}
    for builder in BUILDERS:
        out = tmp_path / f"out-{builder.stem}"
        out.mkdir()
        before = set(tmp_path.glob("*.ipynb"))
        result = subprocess.run(
            [sys.executable, str(tmp_path / builder.name)], cwd=out, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{builder.name} failed:\n{result.stderr[-2000:]}"
        written = sorted((set(tmp_path.glob("*.ipynb")) - before) | set(out.glob("*.ipynb")))
        for notebook in written:
            assert notebook.name not in made_by, f"{notebook.name} is written by {made_by[notebook.name]} and {builder.name}"
            made_by[notebook.name] = builder.name
            committed = NOTEBOOK_DIR / notebook.name
            assert committed.is_file(), f"{builder.name} writes {notebook.name}, which is not committed in notebooks/"
            assert load(notebook) == load(committed), (
                f"notebooks/{notebook.name} differs from what {builder.name} writes: "
                f"edit the builder, then run `python notebooks/{builder.name}`"
            )
            notebook.unlink()  # the next builder's output is told apart by what appears
    unbuilt = [path.name for path in NOTEBOOKS if path.name not in made_by]
    assert not unbuilt, f"notebooks with no builder script (notebooks/_build*.py): {unbuilt}"


def test_figure_captions_and_cell_numbers_skip_the_injected_cell():
    runner = load_runner()
    cells = [
        {"cell_type": "markdown", "source": "## See it\n\nThe picture of the flow. Then more\ntext."},
        {"cell_type": "code", "source": "PROFILE = 'ci'", "metadata": {"tags": ["parameters"]}},
        {"cell_type": "code", "source": "PROFILE = 'cpu'", "metadata": {"tags": ["injected-parameters"]}},
        {"cell_type": "code", "source": "# NBVAL_CHECK_OUTPUT\nplt.plot()", "metadata": {}},
        {"cell_type": "code", "source": "# NBVAL_CHECK_OUTPUT\n# Figure: loss curves\nplt.plot()", "metadata": {}},
    ]
    assert runner.source_index(cells) == [0, 1, None, 2, 3]
    assert runner.caption_of(cells, 3) == "The picture of the flow."
    assert runner.caption_of(cells, 4) == "loss curves"


def test_runner_selects_by_number_and_rejects_unknown_numbers():
    runner = load_runner()
    notebooks = [Path("00_tour.ipynb"), Path("02_optical_flow.ipynb")]
    assert runner.select(notebooks, ["02"]) == [Path("02_optical_flow.ipynb")]
    assert runner.select(notebooks, None) == notebooks
    with pytest.raises(SystemExit, match="no notebook"):
        runner.select(notebooks, ["99"])


def test_readme_lists_every_notebook():
    readme = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    missing = [path.name for path in NOTEBOOKS if not re.search(re.escape(path.stem), readme)]
    assert not missing, f"notebooks/README.md does not list {missing}"
