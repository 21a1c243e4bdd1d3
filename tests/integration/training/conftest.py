"""Fixtures of the training integration tests: one local Ray instance and a tiny dataset per module."""

from __future__ import annotations

import _tiny
import pytest

from tsalign.components.training.launcher import connect_ray


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance for the in-process runs of this module; shut down after."""
    import ray

    connect_ray(None, num_cpus=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    return _tiny.write_dataset(tmp_path_factory.mktemp("data"))
