"""Provider choice: CUDA when it really starts, the CPU otherwise, and always a reason."""

from __future__ import annotations

import pytest

from localmind.embeddings import providers
from localmind.errors import ModelError


@pytest.fixture()
def cpu_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: ["CPUExecutionProvider"])


@pytest.fixture()
def gpu_build(monkeypatch: pytest.MonkeyPatch) -> None:
    available = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(providers.ort, "get_available_providers", lambda: available)


@pytest.mark.usefixtures("cpu_build")
def test_auto_on_the_cpu_build_says_why() -> None:
    choice = providers.choose_providers("auto")
    assert choice.requested == [providers.CPU]
    assert "no CUDA provider" in choice.reason


@pytest.mark.usefixtures("cpu_build")
@pytest.mark.parametrize("device", ["cuda", "tensorrt"])
def test_asking_for_a_gpu_on_the_cpu_build_points_to_the_gpu_install(device: str) -> None:
    with pytest.raises(ModelError, match=r"use-gpu\.sh"):
        providers.choose_providers(device)


@pytest.mark.usefixtures("gpu_build")
def test_auto_on_the_gpu_build_tries_cuda_then_cpu_but_not_tensorrt() -> None:
    assert providers.choose_providers("auto").requested == [providers.CUDA, providers.CPU]
    assert providers.choose_providers("tensorrt").requested[0] == providers.TENSORRT


@pytest.mark.usefixtures("gpu_build")
def test_a_gpu_build_without_a_gpu_falls_back_and_says_so() -> None:
    choice = providers.choose_providers("auto")
    reason = providers.confirm(choice, [providers.CPU], "auto")
    assert "could not start" in reason and "CPU" in reason
    assert providers.confirm(choice, [providers.CUDA, providers.CPU], "auto") == choice.reason


@pytest.mark.usefixtures("gpu_build")
def test_an_explicit_cuda_request_that_falls_back_is_an_error() -> None:
    choice = providers.choose_providers("cuda")
    with pytest.raises(ModelError, match="could not start"):
        providers.confirm(choice, [providers.CPU], "cuda")


def test_cpu_device_is_always_the_cpu() -> None:
    assert providers.choose_providers("cpu").requested == [providers.CPU]
