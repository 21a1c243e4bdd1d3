import torch

from components.config import ModelConfig
from components.models import ModelSpec, build_model, count_parameters


def test_naive_repeats_last_value():
    model = build_model(ModelConfig(name="naive"), ModelSpec(seq_len=10, horizon=4, n_channels=2))
    x = torch.randn(3, 10, 2)
    y = model(x)
    assert y.shape == (3, 4, 2)
    assert torch.equal(y, x[:, -1:, :].expand(-1, 4, -1))
    assert count_parameters(model) == (0, 0)


def test_seasonal_naive_repeats_last_period():
    spec = ModelSpec(seq_len=12, horizon=7, n_channels=1, season=3)
    model = build_model(ModelConfig(name="seasonal_naive"), spec)
    x = torch.arange(12, dtype=torch.float32).reshape(1, 12, 1)
    assert model(x)[0, :, 0].tolist() == [9, 10, 11, 9, 10, 11, 9]
    assert model.period == 3


def test_seasonal_naive_falls_back_to_naive_with_reason(caplog):
    x = torch.randn(2, 12, 1)
    no_season = build_model(
        ModelConfig(name="seasonal_naive"), ModelSpec(seq_len=12, horizon=3, n_channels=1)
    )
    assert no_season.period == 1 and "no dominant period" in no_season.reason
    assert torch.equal(no_season(x), x[:, -1:].expand(-1, 3, -1))
    too_long = build_model(
        ModelConfig(name="seasonal_naive"),
        ModelSpec(seq_len=12, horizon=3, n_channels=1, season=24),
    )
    assert too_long.period == 1 and "exceeds seq_len" in too_long.reason
    assert "falling back" in caplog.text


def test_dlinear_starts_as_window_mean_and_has_two_maps():
    spec = ModelSpec(seq_len=48, horizon=6, n_channels=2)
    model = build_model(ModelConfig(name="dlinear", moving_avg=5), spec)
    x = torch.randn(3, 48, 2)
    y = model(x)
    assert y.shape == (3, 6, 2)
    # both maps start at 1/L (the paper's init): the forecast is the window mean (+ biases)
    bias = model.seasonal.bias + model.trend.bias  # [H]
    assert torch.allclose(
        y - bias[None, :, None], x.mean(1, keepdim=True).expand(-1, 6, -1), atol=1e-5
    )
    assert count_parameters(model)[0] == 2 * (48 * 6 + 6)


def test_patchtst_shapes_and_divisibility_check():
    import pytest

    from components.models import ModelBuildError

    spec = ModelSpec(seq_len=96, horizon=24, n_channels=3)
    model = build_model(ModelConfig(name="patchtst"), spec)
    assert model(torch.randn(4, 96, 3)).shape == (4, 24, 3)
    assert model.revin.affine  # PatchTST learns the RevIN affine
    with pytest.raises(ModelBuildError, match="divisible"):
        build_model(ModelConfig(name="patchtst", d_model=30, n_heads=4), spec)
