import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import build_model
from tsalign.components.models.layers import FlattenHead, MovingAverage, Patcher, RevIN
from tsalign.components.models.spec import ModelBuildError


def test_revin_normalises_each_window_and_inverts_exactly():
    x = torch.randn(4, 50, 3) * torch.tensor([1.0, 10.0, 100.0]) + torch.tensor([5.0, -3.0, 1e3])
    revin = RevIN(3)
    z, stats = revin.normalize(x)
    assert torch.allclose(z.mean(dim=1), torch.zeros(4, 3), atol=1e-5)
    assert torch.allclose(z.std(dim=1, unbiased=False), torch.ones(4, 3), atol=1e-3)
    assert torch.allclose(revin.denormalize(z, stats), x, rtol=1e-5, atol=1e-3)


def test_revin_affine_round_trip_and_constant_window_is_finite():
    revin = RevIN(2, affine=True)
    with torch.no_grad():
        revin.weight.copy_(torch.tensor([2.0, 0.5]))
        revin.bias.copy_(torch.tensor([1.0, -1.0]))
    x = torch.randn(3, 20, 2)
    z, stats = revin.normalize(x)
    assert torch.allclose(revin.denormalize(z, stats), x, atol=1e-4)
    const = torch.full((1, 10, 2), 7.0)
    z, stats = revin.normalize(const)
    assert torch.isfinite(z).all()
    assert torch.allclose(revin.denormalize(z, stats), const)


def test_patcher_counts_and_contents_match_gpt4ts_end_padding():
    patcher = Patcher(seq_len=96, patch_len=16, stride=8)
    x = torch.arange(96, dtype=torch.float32).expand(2, 96)
    patches = patcher(x)
    assert patcher.n_patches == (96 - 16) // 8 + 2 == 12
    assert patches.shape == (2, 12, 16)
    assert torch.equal(patches[0, 0], torch.arange(16, dtype=torch.float32))
    assert torch.equal(patches[0, 3], torch.arange(24, 40, dtype=torch.float32))
    # last patch runs into the padding, which repeats the last value
    assert torch.equal(patches[0, -1, -8:], torch.full((8,), 95.0))


def test_patcher_rejects_patch_longer_than_window():
    with pytest.raises(ModelBuildError, match=r"model\.params\.patch_len"):
        Patcher(seq_len=10, patch_len=32, stride=8)


def test_moving_average_keeps_length_and_a_linear_trend():
    x = torch.arange(30, dtype=torch.float32).reshape(1, 30, 1)
    trend = MovingAverage(5)(x)
    assert trend.shape == x.shape
    assert torch.allclose(trend[0, 2:-2, 0], x[0, 2:-2, 0])  # centred average of a line


def test_flatten_head_leaves_the_forecast_alone_in_train_mode():
    head = FlattenHead(n_patches=5, d=8, out_len=12).train()
    z = torch.randn(2, 3, 5, 8)
    assert torch.equal(head(z), head(z))
    assert head(z).shape == (2, 12, 3)


@pytest.mark.parametrize("name", ["gpt4ts_wo_llm", "patchtst"])
def test_forecast_is_deterministic_in_train_mode_when_the_body_has_no_dropout(spec, name):
    # model.params.dropout regularises the body; it must not also drop entries of the forecast.
    # gpt4ts_wo_llm's body has no dropout at all, PatchTST's is switched off here.
    dropout = 0.3 if name == "gpt4ts_wo_llm" else 0.0
    model = build_model(ModelConfig(name=name, params={"dropout": dropout}), spec).train()
    x = torch.randn(4, spec.seq_len, spec.n_channels)
    assert torch.equal(model(x), model(x))


def test_head_dropout_is_its_own_setting(spec):
    model = build_model(
        ModelConfig(name="gpt4ts_wo_llm", params={"dropout": 0.0, "head_dropout": 0.5}), spec
    )
    x = torch.randn(4, spec.seq_len, spec.n_channels)
    assert not torch.equal(model.train()(x), model(x))
    assert torch.equal(model.eval()(x), model(x))
