"""Choosing ONNX Runtime's execution provider, and saying why.

``onnxruntime-gpu`` lists CUDA among its providers even on a machine without a GPU, so the choice is
confirmed by reading the providers of the session actually created.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from localmind.config import Variant
from localmind.errors import ModelError

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
log = logging.getLogger(__name__)
GPU_INSTALL_HINT = "install the GPU build with scripts/use-gpu.sh (it swaps onnxruntime for onnxruntime-gpu)"


@dataclass(frozen=True)
class ProviderChoice:
    requested: list[str]
    reason: str


def choose_providers(device: str) -> ProviderChoice:
    available = ort.get_available_providers()
    if device == "cpu":
        return ProviderChoice([CPU], "embeddings.device is cpu")
    if device == "tensorrt":
        _require(TENSORRT, available)
        return ProviderChoice([TENSORRT, CUDA, CPU], "embeddings.device is tensorrt")
    if device == "cuda":
        _require(CUDA, available)
        return ProviderChoice([CUDA, CPU], "embeddings.device is cuda")
    if CUDA in available:
        return ProviderChoice([CUDA, CPU], "onnxruntime-gpu is installed; trying CUDA first")
    return ProviderChoice([CPU], "this onnxruntime build has no CUDA provider (the CPU package is installed)")


def auto_variant(device: str) -> Variant:
    """The variant embeddings.variant = "auto" means here: fp16 where the GPU build sees an NVIDIA device,
    int8 otherwise.

    fp16 has no fast CPU kernels, and the GPU build lists CUDA even without a GPU, so a device must be
    visible too. On CPUs int8 embeds about twice as fast as fp32 at the same retrieval quality; it embeds one
    text per run, so each vector is independent of its batch-mates (docs/BENCHMARKS.md, "fp32 or int8")."""
    if device != "cpu" and CUDA in ort.get_available_providers() and _nvidia_device_visible():
        return "fp16"
    return "int8"


def _nvidia_device_visible() -> bool:
    """Whether the NVIDIA driver exposes a GPU to this process (its device files, as containers pass them)."""
    return any(Path("/dev").glob("nvidia[0-9]*"))


def preload_cuda_libraries(choice: ProviderChoice) -> None:
    """Load the CUDA and cuDNN libraries that pip installed (the nvidia-* wheels of onnxruntime-gpu[cuda,cudnn]),
    which the dynamic loader does not find by itself. ONNX Runtime's preload_dlls reports with print(), so its
    output is sent to stderr: stdout is the language server's protocol channel."""
    if CUDA not in choice.requested or not hasattr(ort, "preload_dlls"):
        return
    try:
        with contextlib.redirect_stdout(sys.stderr):
            ort.preload_dlls()
    except Exception as exc:  # A library that fails to load leaves CUDA to fail visibly when the session starts.
        log.debug("preloading the CUDA libraries failed: %s", exc)


def confirm(choice: ProviderChoice, active: list[str], device: str) -> str:
    """The reason to report for the provider the session really uses; explicit GPU requests must hold."""
    if active and active[0] == choice.requested[0]:
        return choice.reason
    if device in ("cuda", "tensorrt"):
        raise ModelError(f"embeddings.device is {device}, but ONNX Runtime could not start it (no GPU or CUDA libs)")
    return f"{choice.reason}, but CUDA could not start (no GPU, or CUDA libraries missing): using the CPU"


def _require(provider: str, available: list[str]) -> None:
    if provider not in available:
        raise ModelError(f"{provider} is not in this onnxruntime build; {GPU_INSTALL_HINT}")
