import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import ModelSpec, build_model, count_parameters


def test_gpt4ts_forecast_shape_and_recipe_counts(spec):
    model = build_model(ModelConfig(name="gpt4ts"), spec)
    x = torch.randn(5, spec.seq_len, spec.n_channels)
    assert model(x).shape == (5, spec.horizon, spec.n_channels)
    trainable, total = count_parameters(model)
    d, n_patches, patch_len = 384, 12, 16
    expected = (
        patch_len * d
        + d  # patch embedding
        + n_patches * d * spec.horizon
        + spec.horizon  # flatten head
        + 512 * d  # position embeddings
        + 2 * d * (1 + 2 * 2)  # embedding LN + 2 LNs in each of 2 blocks
    )
    assert trainable == expected
    frozen_names = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert all(n.startswith("mixer.lm.") for n in frozen_names)
    assert total > 10 * trainable  # the LM body is frozen


def test_gpt4ts_gradients_reach_only_trainable_parts(spec):
    model = build_model(ModelConfig(name="gpt4ts"), spec)
    model(torch.randn(2, spec.seq_len, spec.n_channels)).pow(2).mean().backward()
    pos = model.mixer.lm.embeddings.position_embeddings.weight
    query = model.mixer.lm.encoder.layer[0].attention.self.query.weight
    assert pos.grad is not None and pos.grad.abs().sum() > 0
    assert query.grad is None


def test_gpt4ts_lora_trains_adapters_not_layer_norms(spec):
    model = build_model(ModelConfig(name="gpt4ts_lora", params={"lora_r": 4}), spec)
    names = [n for n, p in model.named_parameters() if p.requires_grad and n.startswith("mixer.")]
    assert names and all("lora_" in n for n in names)
    assert model(torch.randn(2, spec.seq_len, spec.n_channels)).shape == (2, 24, 3)


@pytest.mark.parametrize("name", ["gpt4ts_wo_llm", "gpt4ts_llm2attn", "gpt4ts_llm2trans"])
def test_ablations_share_everything_but_the_lm(spec, name):
    model = build_model(ModelConfig(name=name), spec)
    trainable, total = count_parameters(model)
    assert trainable == total  # randomly initialised replacement: all of it trains
    assert not any("lm." in n for n, _ in model.named_parameters())
    assert model.embed.out_features == 384  # same width as the LM it replaces
    assert model(torch.randn(2, spec.seq_len, spec.n_channels)).shape == (2, 24, 3)


def test_gpt4ts_classify_and_anomaly_heads():
    cls_spec = ModelSpec(seq_len=40, horizon=1, n_channels=2, task="classify", n_classes=4)
    model = build_model(ModelConfig(name="gpt4ts", n_layers=1), cls_spec)
    assert model(torch.randn(3, 40, 2)).shape == (3, 4)
    # A detector is a forecaster: rows are scored by its forecast error.
    an_spec = ModelSpec(seq_len=40, horizon=1, n_channels=2, task="anomaly")
    model = build_model(ModelConfig(name="gpt4ts_wo_llm"), an_spec).eval()
    assert model(torch.randn(8, 40, 2)).shape == (8, 1, 2)
