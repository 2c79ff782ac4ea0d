"""Execute every course notebook with papermill, time it, then check it with nbval.

    python scripts/run_notebooks.py                       # all notebooks, ci profile (what CI runs)
    python scripts/run_notebooks.py --profile cpu --figures   # the `make figures` equivalent
    python scripts/run_notebooks.py --only 02 05          # some notebooks only

Every ``notebooks/[0-9][0-9]_*.ipynb`` is executed (there is no list to forget a notebook in):
papermill with the ``python3`` kernel, working directory ``notebooks/``, the parameter
``PROFILE`` set, and a per-cell timeout. Path parameters (string defaults starting with "../"
or "./" in the ``parameters`` cell) are passed as absolute paths, so the executed copies in
``build/notebooks/`` run from there too. Then ``pytest --nbval-lax`` re-runs the executed copies
and compares the cells marked ``# NBVAL_CHECK_OUTPUT`` with the first run (nbval executes each
notebook again: the check costs about as much as the first run).

With ``--figures`` every PNG figure of the executed notebooks is written to ``figures/``
(``NN_name-cellCC-K.png``, CC = cell index in the committed notebook) with an index,
``figures/README.md``, listing notebook, cell and caption (the cell's first comment line, else
the first line of the markdown cell before it).

Exit status: 0 when every notebook ran and nbval passed, 1 otherwise, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import ast
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PATTERN = "[0-9][0-9]_*.ipynb"
PROFILES = ("ci", "cpu", "cuda")
KERNEL = "python3"


def discover(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """Every notebook CI executes: notebooks/NN_*.ipynb, in course order."""
    return sorted(notebooks_dir.glob(PATTERN))


def select(notebooks: list[Path], only: list[str] | None) -> list[Path]:
    """Keep the notebooks whose number (or full stem) is in ``only``; every entry must match."""
    if not only:
        return notebooks
    chosen = []
    for wanted in only:
        matches = [nb for nb in notebooks if nb.stem[:2] == wanted or nb.stem == wanted]
        if not matches:
            raise SystemExit(f"--only {wanted}: no notebook notebooks/{wanted}_*.ipynb")
        chosen += [nb for nb in matches if nb not in chosen]
    return sorted(chosen)


def parameters_for(notebook: Path, profile: str) -> dict:
    """PROFILE, plus every relative path parameter made absolute (relative to notebooks/)."""
    import papermill

    values = {"PROFILE": profile}
    for name, info in papermill.inspect_notebook(str(notebook)).items():
        try:
            default = ast.literal_eval(info.get("default") or "None")
        except (ValueError, SyntaxError):
            continue
        if isinstance(default, str) and default.startswith(("../", "./")):
            values[name] = os.path.normpath(notebook.parent / default)
    return values


def execute(notebook: Path, out_dir: Path, profile: str, timeout: int) -> tuple[bool, float, str]:
    """Run one notebook with papermill into out_dir; (ok, wall seconds, error summary)."""
    import papermill

    output = out_dir / notebook.name
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters_for(notebook, profile),
            kernel_name=KERNEL,
            cwd=str(notebook.parent),
            execution_timeout=timeout,
            progress_bar=False,
            log_output=False,
        )
    except Exception as error:  # papermill's execution error, a timeout, a dead kernel
        message = getattr(error, "ename", type(error).__name__) + ": " + str(getattr(error, "evalue", error)).strip()
        return False, time.perf_counter() - start, message.splitlines()[0][:200]
    return True, time.perf_counter() - start, ""


def run_nbval(executed: list[Path], timeout: int) -> int:
    """pytest --nbval-lax over the executed copies; its exit status."""
    command = [
        sys.executable, "-m", "pytest", "--nbval-lax", f"--nbval-cell-timeout={timeout}",
        f"--nbval-kernel-name={KERNEL}", "-p", "no:cacheprovider", "-q", *map(str, executed),
    ]  # fmt: skip
    print("\n$ " + " ".join(command[2:]), flush=True)
    return subprocess.call(command, cwd=ROOT)


def source_index(cells: list[dict]) -> list[int | None]:
    """Map executed-cell index -> index in the committed notebook (None for papermill's injected cell)."""
    mapping, index = [], 0
    for cell in cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            mapping.append(None)
            continue
        mapping.append(index)
        index += 1
    return mapping


def caption_of(cells: list[dict], position: int) -> str:
    """The cell's leading comment ("# Figure: ..." by convention), else the first sentence of the
    markdown cell before it (its first paragraph that is not a heading)."""
    for line in "".join(cells[position].get("source", "")).splitlines():
        line = line.strip()
        if line.startswith("# NBVAL") or not line:
            continue
        if line.startswith("#") and line.lstrip("# ").strip():
            text = line.lstrip("# ").strip()
            return text.removeprefix("Figure:").strip()
        break
    for cell in reversed(cells[:position]):
        if cell["cell_type"] != "markdown":
            continue
        for paragraph in "".join(cell["source"]).split("\n\n"):
            paragraph = " ".join(line.strip() for line in paragraph.splitlines()).strip()
            if paragraph and not paragraph.startswith("#"):
                first = paragraph.split(". ")[0].strip()
                return first if first.endswith((".", ":")) else first + "."
        return ""
    return ""


def collect_figures(executed: list[Path], figures_dir: Path) -> list[dict]:
    """Write every image/png output of the executed notebooks to figures_dir; return index rows."""
    figures_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for notebook in executed:
        for old in figures_dir.glob(f"{notebook.stem}-cell*.png"):
            old.unlink()
        cells = json.loads(notebook.read_text())["cells"]
        mapping = source_index(cells)
        for position, cell in enumerate(cells):
            if cell["cell_type"] != "code" or mapping[position] is None:
                continue
            images = [out["data"]["image/png"] for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
            for number, image in enumerate(images):
                name = f"{notebook.stem}-cell{mapping[position]:02d}-{number}.png"
                (figures_dir / name).write_bytes(base64.b64decode(image))
                rows.append({"file": name, "notebook": notebook.name, "cell": mapping[position], "caption": caption_of(cells, position)})
    return rows


def write_figure_index(rows: list[dict], executed: list[Path], figures_dir: Path, profile: str) -> None:
    """Merge with the index of earlier runs (other notebooks), write index.json and README.md."""
    index_file = figures_dir / "index.json"
    done = {nb.name for nb in executed}
    previous = json.loads(index_file.read_text()) if index_file.is_file() else {"figures": []}
    kept = [row for row in previous["figures"] if row["notebook"] not in done and (figures_dir / row["file"]).is_file()]
    for row in rows:
        row["profile"] = profile
    figures = sorted(kept + rows, key=lambda row: row["file"])
    index_file.write_text(json.dumps({"figures": figures}, indent=1) + "\n")
    lines = [
        "# Figures of the course notebooks",
        "",
        "Written by `python scripts/run_notebooks.py --profile cpu --figures` (build output: rerun it to refresh).",
        "",
        "| figure | notebook | cell | profile | caption |",
        "|---|---|---:|---|---|",
    ]
    for row in figures:
        caption = row["caption"].replace("|", "\\|")
        lines.append(f"| [{row['file']}]({row['file']}) | `notebooks/{row['notebook']}` | {row['cell']} | {row.get('profile', '')} | {caption} |")
    (figures_dir / "README.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="ci", help="the notebooks' PROFILE parameter (default ci)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks (numbers like 02 or full stems)")
    parser.add_argument("--figures", action="store_true", help="also write every PNG figure to figures/ with an index")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "notebooks", help="folder for the executed copies")
    parser.add_argument("--figures-dir", type=Path, default=ROOT / "figures", help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=int, default=300, help="per-cell timeout in seconds (default 300)")
    parser.add_argument("--no-nbval", action="store_true", help="skip the nbval pass (it re-executes every notebook)")
    args = parser.parse_args(argv)

    notebooks = select(discover(), args.only)
    if not notebooks:
        print(f"no notebooks matching notebooks/{PATTERN}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"executing {len(notebooks)} notebooks, profile {args.profile}, into {args.out}", flush=True)

    results = []
    for notebook in notebooks:
        ok, seconds, error = execute(notebook, args.out, args.profile, args.timeout)
        results.append((notebook, ok, seconds, error))
        print(f"  {notebook.name:<40} {'ok' if ok else 'FAILED':<7} {seconds:7.1f} s  {error}", flush=True)

    total = sum(seconds for _, _, seconds, _ in results)
    print(f"\n| notebook | status | wall time (s), profile {args.profile} |\n|---|---|---:|")
    for notebook, ok, seconds, _ in results:
        print(f"| {notebook.name} | {'ok' if ok else 'FAILED'} | {seconds:.1f} |")
    print(f"| total | | {total:.1f} |")
    timings = {nb.name: {"ok": ok, "seconds": round(seconds, 1)} for nb, ok, seconds, _ in results}
    (args.out / f"timings-{args.profile}.json").write_text(json.dumps(timings, indent=1) + "\n")

    executed = [args.out / nb.name for nb, ok, _, _ in results if ok]
    failed = [nb.name for nb, ok, _, _ in results if not ok]
    if args.figures and executed:
        rows = collect_figures(executed, args.figures_dir)
        write_figure_index(rows, executed, args.figures_dir, args.profile)
        print(f"\nwrote {len(rows)} figures and an index to {args.figures_dir}/README.md")

    status = 0
    if executed and not args.no_nbval:
        status = run_nbval(executed, args.timeout)
    if failed:
        print(f"\nFAILED to execute: {', '.join(failed)} (the executed copies in {args.out} show the error)", file=sys.stderr)
        return 1
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
