"""Fixtures shared by the video-tool tests."""

from pathlib import Path

import pytest
import torch

import nlvfi


@pytest.fixture(scope="module")
def one_thread():
    """Small frames run fastest on one thread, and a shared CPU is not oversubscribed."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """An untrained tiny generator checkpoint: the tools' tests must not need the shipped one."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    nlvfi.save_generator(nlvfi.build_generator("tiny"), path)
    return path
