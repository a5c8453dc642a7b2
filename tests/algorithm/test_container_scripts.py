"""export.sh and test.sh with a fake ``docker`` on PATH: the hints a user without a registry or
with a CPU-only base image needs, without building anything."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

FAKE_DOCKER = r"""#!/usr/bin/env bash
# Stands in for docker: FAKE_BUILD=fail makes the build fail as an unreachable registry does;
# FAKE_TORCH_CUDA is what the image's torch.version.cuda prints. Every call is logged, one line
# each, to $FAKE_DOCKER_LOG when set.
[[ -n "${FAKE_DOCKER_LOG:-}" ]] && { printf '%q ' "$@"; echo; } >> "$FAKE_DOCKER_LOG"
case "$1" in
  network) exit 0 ;;
  build)
    if [[ "${FAKE_BUILD:-ok}" == fail ]]; then
      echo "ERROR: failed to solve: pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime: failed to resolve source metadata: dial tcp: lookup registry-1.docker.io: no such host"
      exit 1
    fi
    exit 0 ;;
  image) [[ "$*" == *Size* ]] && echo 1048576; exit 0 ;;
  save) echo "fake image stream" ;;
  run)
    if [[ "$*" == *torch.version.cuda* ]]; then echo "${FAKE_TORCH_CUDA:-12.4}"; exit 0; fi
    cat >/dev/null; echo "tarball: 1 image (fake check)" ;;
  *) echo "fake docker: unexpected $*" >&2; exit 3 ;;
esac
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """The scripts in a bare copy of the repository (no weights), with the fake docker first
    on PATH."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    (root / "algorithm" / "weights").mkdir(parents=True)
    for name in ("export.sh", "test.sh", "scripts/build_image.sh"):
        shutil.copy(REPO_ROOT / name, root / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    return root


def _run(repo: Path, script: str, out: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "BASE_IMAGE"}
    environ.update(PATH=f"{repo.parent / 'bin'}:{os.environ['PATH']}", **env)
    return subprocess.run(["bash", str(repo / script), str(out)], env=environ, cwd=repo,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("script", ["export.sh", "test.sh"])
def test_syntax(script):
    subprocess.run(["bash", "-n", str(REPO_ROOT / script)], check=True)


@pytest.mark.parametrize("script", ["export.sh", "test.sh"])
def test_a_failed_pull_suggests_the_local_base_image(repo, tmp_path, script):
    result = _run(repo, script, tmp_path / "export", FAKE_BUILD="fail")
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode != 0
    assert "could not be pulled" in last and f"BASE_IMAGE=local/pytorch:cpu ./{script}" in last
    assert not (tmp_path / "export").exists()


def test_a_failed_build_from_a_chosen_base_names_it_without_the_hint(repo, tmp_path):
    result = _run(repo, "export.sh", tmp_path / "export", FAKE_BUILD="fail",
                  BASE_IMAGE="my/base:1")
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode != 0 and "BASE_IMAGE=my/base:1 failed" in last


def test_an_export_on_a_cpu_only_base_ends_with_a_warning(repo, tmp_path):
    result = _run(repo, "export.sh", tmp_path / "export", FAKE_TORCH_CUDA="none")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "export" / "lesionseg-algorithm.tar.gz").is_file()
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("WARNING:") and "CPU-only PyTorch" in last


def test_an_export_with_cuda_torch_has_no_warning(repo, tmp_path):
    result = _run(repo, "export.sh", tmp_path / "export", FAKE_TORCH_CUDA="12.4")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr


def test_an_export_builds_and_checks_both_modes(repo, tmp_path):
    log = tmp_path / "docker.log"
    result = _run(repo, "export.sh", tmp_path / "export", FAKE_DOCKER_LOG=str(log))
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    builds = [c for c in calls if c.startswith("build ")]
    assert any("--target exec" in c and "lesionseg-algorithm:latest" in c for c in builds)
    assert any("--target invoke" in c and "lesionseg-algorithm-invoke:latest" in c
               for c in builds)
    saves = [c.split() for c in calls if c.startswith("save ")]
    assert saves == [["save", "lesionseg-algorithm:latest"],
                     ["save", "lesionseg-algorithm-invoke:latest"]]
    checks = [c.split()[-2:] for c in calls if c.startswith("run ") and "tarfile" in c]
    assert checks == [["lesionseg-algorithm:latest", "exec"],
                      ["lesionseg-algorithm-invoke:latest", "invoke"]]
    for name in ("lesionseg-algorithm.tar.gz", "lesionseg-algorithm-invoke.tar.gz"):
        assert (tmp_path / "export" / name).is_file()
