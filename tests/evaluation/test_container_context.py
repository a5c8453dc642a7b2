"""The evaluation image's build context (evaluation/stage_context.sh), without Docker: exactly the
files the image needs, and the staged packages import on their own, without torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

STAGE = REPO_ROOT / "evaluation" / "stage_context.sh"


def stage(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(STAGE), str(directory)], capture_output=True, text=True,
                          timeout=60)


def test_the_context_holds_the_evaluation_package_and_the_measurements_only(tmp_path):
    context = tmp_path / "context"
    assert stage(context).returncode == 0
    staged = {p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()}
    expected = {"Dockerfile", "requirements.txt", "algorithm/__init__.py"}
    expected |= {f"evaluation/{p.name}" for p in (REPO_ROOT / "evaluation").glob("*.py")}
    expected |= {f"algorithm/measurements/{p.name}"
                 for p in (REPO_ROOT / "algorithm" / "measurements").glob("*.py")}
    assert staged == expected
    assert "algorithm/measurements/lesion.py" in staged


def test_the_staged_packages_import_alone_and_without_torch(tmp_path):
    context = tmp_path / "context"
    assert stage(context).returncode == 0
    modules = [f"evaluation.{p.stem}" for p in (context / "evaluation").glob("*.py")
               if p.stem != "__main__"]
    check = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "import algorithm.measurements as m\n"
        f"assert m.__file__.startswith({str(context)!r}), m.__file__\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print(len(sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", check], cwd=context, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "stale.py").write_text("")
    result = stage(tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert not (tmp_path / "evaluation").exists()
