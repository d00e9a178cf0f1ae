"""scripts/detect-gpu.sh decides which ONNX Runtime build the install step gives a machine, and says why.

A stand-in `nvidia-smi` on PATH plays the driver: these tests check the script's own decisions, not CUDA."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "detect-gpu.sh"
H100_LISTING = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5f1c2d3e-0000-1111-2222-333344445555)"
DRIVER_DOWN = "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver."


def detect(
    tmp_path: Path, nvidia_smi: str | None = None, status: int = 0, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the script with PATH holding only the basic tools and, when given, a stand-in nvidia-smi."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if nvidia_smi is not None:
        fake = bin_dir / "nvidia-smi"
        fake.write_text(f"#!/bin/sh\necho '{nvidia_smi}'\nexit {status}\n")
        fake.chmod(0o755)
    path = f"{bin_dir}:/usr/bin:/bin"
    environment = {"PATH": path, "HOME": str(tmp_path), **env}
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=environment, check=False)


def test_a_listed_gpu_chooses_the_gpu_build_and_names_the_device(tmp_path: Path) -> None:
    result = detect(tmp_path, H100_LISTING)
    assert result.returncode == 0
    assert result.stdout.strip() == "gpu nvidia-smi lists GPU 0: NVIDIA H100 80GB HBM3"


def test_no_driver_chooses_the_cpu_build(tmp_path: Path) -> None:
    assert not any(Path(d, "nvidia-smi").exists() for d in ("/usr/bin", "/bin")), "this machine has a real driver"
    result = detect(tmp_path)
    assert result.stdout.startswith("cpu ") and "nvidia-smi is not on PATH" in result.stdout


def test_a_driver_that_fails_chooses_the_cpu_build_and_says_why(tmp_path: Path) -> None:
    result = detect(tmp_path, DRIVER_DOWN, status=9)
    assert result.stdout.startswith("cpu nvidia-smi lists no GPU")
    assert "could not communicate" in result.stdout


@pytest.mark.parametrize(("value", "expected"), [("1", "gpu"), ("0", "cpu")])
def test_the_environment_overrides_the_check(tmp_path: Path, value: str, expected: str) -> None:
    listing = H100_LISTING if expected == "cpu" else None  # The override wins against what the driver says.
    result = detect(tmp_path, listing, LOCALMIND_GPU=value)
    assert result.stdout.split()[0] == expected and "LOCALMIND_GPU" in result.stdout


def test_a_bad_override_is_an_error_not_a_guess(tmp_path: Path) -> None:
    result = detect(tmp_path, LOCALMIND_GPU="yes")
    assert result.returncode == 2 and result.stdout == ""
    assert "LOCALMIND_GPU must be 1 or 0" in result.stderr
