"""The two cores import no Django, so the CLI, the tasks and the benchmarks can all call them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CORE_MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for package in ("annotations/formats", "inference/core", "pharmacovigilance/core")
    for p in (ROOT / package).rglob("*.py")
    if p.name != "__init__.py"
)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_with_django_absent(module):
    code = f"import sys; sys.modules['django'] = None; import {module}"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
