"""The project's scripts (``benchmarks/``, ``scripts/``) as modules, for the tests: they are not
part of the package, so each is executed from its file."""

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load_script(relative_path: str) -> ModuleType:
    """The script at ``ROOT / relative_path`` (``"benchmarks/cpu_batch.py"``), executed as a module
    named after it (``cpu_batch_benchmarks``); not entered in ``sys.modules``."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(f"{path.stem}_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
