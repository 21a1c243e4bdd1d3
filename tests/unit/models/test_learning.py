"""Learning on real data: every trainable model overfits a small ETTh1 slice, and GPT4TS
classifies the UEA BasicMotions dataset (shipped by sktime). Slow: run with ``-m slow``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import ModelSpec, build_model, list_models
from tsalign.components.models.catalogue import get_entry

pytestmark = pytest.mark.slow

ETTH1 = Path("/work/shared/data/ett/ETTh1.csv")
# Retrieval entries learn with their neighbours: test_retrieval.py's overfit test.
TRAINABLE = [
    n
    for n in list_models()
    if get_entry(n).paradigm not in {"injective", "baseline"} and not get_entry(n).retrieval_embed
]
TRAINABLE += ["dlinear", "patchtst"]


@pytest.fixture(scope="module")
def ett_slice() -> tuple[torch.Tensor, torch.Tensor]:
    """8 windows (input 96, horizon 24) of the oil temperature, first 400 hourly rows."""
    if not ETTH1.is_file():
        pytest.fail(f"{ETTH1} is missing: the shared ETT data set is part of the workspace")
    values = pd.read_csv(ETTH1, nrows=400)[["OT"]].to_numpy(np.float32)
    values = (values - values.mean(0)) / values.std(0)
    starts = np.arange(0, 400 - 120, 35)[:8]
    x = torch.tensor(np.stack([values[s : s + 96] for s in starts]))
    y = torch.tensor(np.stack([values[s + 96 : s + 120] for s in starts]))
    return x, y


@pytest.mark.parametrize("name", TRAINABLE)
def test_overfits_a_real_slice(name, ett_slice):
    x, y = ett_slice
    torch.manual_seed(0)
    spec = ModelSpec(96, 24, 1, season=24, domain_context="Transformer oil temperature, hourly.")
    # One LM block, a small prototype set and a short prompt (capped statistics; the
    # description is never cut) keep this affordable on 2 CPU cores.
    # for_model keeps the Time-LLM settings for the Time-LLM entries only.
    cfg = ModelConfig(
        name="timellm",
        n_layers=1,
        params={"dropout": 0.0, "n_prototypes": 16, "prompt_tokens": 64, "prompt_decimals": 3},
    ).for_model(name)
    model = build_model(cfg, spec)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for _ in range(300):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if losses[-1] < losses[0] / 10:
            break
    assert min(losses) < losses[0] / 10, f"{name}: loss {losses[0]:.3f} -> {min(losses):.4f}"


def test_gpt4ts_classifies_basic_motions():
    from sktime.datasets import load_basic_motions

    x_train, y_train = load_basic_motions(split="train", return_type="numpy3D")
    x_test, y_test = load_basic_motions(split="test", return_type="numpy3D")
    classes = sorted(set(y_train))
    # [N, C, L] -> [N, L, C]; standardise per channel with train statistics only.
    x_train, x_test = (np.transpose(a, (0, 2, 1)).astype(np.float32) for a in (x_train, x_test))
    mean, std = x_train.mean((0, 1)), x_train.std((0, 1))
    x_train, x_test = ((a - mean) / std for a in (x_train, x_test))
    to_idx = {c: i for i, c in enumerate(classes)}
    yt = torch.tensor([to_idx[c] for c in y_train])
    ye = torch.tensor([to_idx[c] for c in y_test])
    spec = ModelSpec(seq_len=100, horizon=1, n_channels=6, task="classify", n_classes=4)
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(name="gpt4ts", n_layers=1, params={"patch_len": 10, "patch_stride": 10}), spec
    )
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    xt = torch.from_numpy(x_train)
    for _ in range(40):
        perm = torch.randperm(len(xt))
        for batch in perm.split(10):
            loss = torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(x_test)).argmax(-1) == ye).float().mean().item()
    print(f"BasicMotions test accuracy (gpt4ts, 1 MiniLM layer): {accuracy:.3f}")
    assert accuracy >= 0.75  # chance is 0.25; published GPT4TS-style models reach ~1.0
