"""A retrieval model trained on Ray Train + DeepSpeed: the workers read the index file,
train on the precomputed neighbours, and the exported model holds the index itself."""

from __future__ import annotations

from pathlib import Path

import _tiny
import numpy as np
import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.data.protocol import load_protocol
from tsalign.components.data.retrieval_index import load_index
from tsalign.components.models import load_pretrained
from tsalign.components.training.candidates import retrieval_index_file, with_retrieval_dims
from tsalign.components.training.job import TrainJob
from tsalign.components.training.launcher import launch_training

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_ray_deepspeed_trains_with_the_index_and_exports_it(ray_local, dataset, tmp_path: Path):
    model = ModelConfig.model_validate(
        {"name": "retrieval_wo_llm", "params": {"moving_avg": 5}, "retrieval": {"k": 3}}
    )
    train = _tiny.train_cfg(tmp_path / "runs", epochs=1)
    data = _tiny.data_cfg()
    path = retrieval_index_file(data, str(tmp_path / "work"), dataset, model, train)
    # built once: asking again returns the same file
    assert path == retrieval_index_file(data, str(tmp_path / "work"), dataset, model, train)
    spec = with_retrieval_dims(_tiny.spec(), path)
    job = TrainJob(
        dataset, data.protocol(), model, train, spec, "retrieval-ray", retrieval_path=path
    )
    result = launch_training(job)
    assert len(result.curves["val_loss"]) == 1 and np.isfinite(result.curves["val_loss"][0])

    loaded, cfg, loaded_spec = load_pretrained(Path(result.checkpoint_uri))
    index = load_index(path)
    assert cfg.retrieval == model.retrieval and loaded_spec == spec
    np.testing.assert_array_equal(loaded.keys.numpy(), index.keys)
    np.testing.assert_array_equal(loaded.series.numpy(), index.series)
    # test windows: the exported model searches its own index
    test = load_protocol(dataset.path, data.protocol()).test
    x = torch.from_numpy(np.stack([test[i : i + 24] for i in (0, 10, 20)]))
    with torch.no_grad():
        out = loaded(x)
    assert out.shape == (3, 6, 1) and torch.isfinite(out).all()
