"""Shared fixtures for the model zoo tests."""

from __future__ import annotations

import os

import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import ModelSpec

# Nothing in these tests may reach the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def spec() -> ModelSpec:
    """The default training shapes: seq_len 96, horizon 24, 3 channels, daily season."""
    return ModelSpec(seq_len=96, horizon=24, n_channels=3, season=24, domain_context="Test data.")


@pytest.fixture
def cfg() -> ModelConfig:
    return ModelConfig()
