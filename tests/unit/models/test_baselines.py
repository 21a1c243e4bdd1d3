import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import ModelSpec, build_model, count_parameters


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
    model = build_model(ModelConfig(name="dlinear", params={"moving_avg": 5}), spec)
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

    from tsalign.components.models import ModelBuildError

    spec = ModelSpec(seq_len=96, horizon=24, n_channels=3)
    model = build_model(ModelConfig(name="patchtst"), spec)
    assert model(torch.randn(4, 96, 3)).shape == (4, 24, 3)
    assert model.revin.affine  # PatchTST learns the RevIN affine
    with pytest.raises(ModelBuildError, match="divisible"):
        build_model(ModelConfig(name="patchtst", params={"d_model": 30, "n_heads": 4}), spec)


def test_patchtst_default_is_the_papers_etth1_setting():
    # PatchTST_supervised/scripts/PatchTST/etth1.sh (Nie et al. 2023).
    spec = ModelSpec(seq_len=336, horizon=96, n_channels=7)
    model = build_model(ModelConfig(name="patchtst"), spec)
    encoder = model.mixer
    assert len(encoder.layers) == 3
    assert encoder.position.shape == (42, 16)  # PatchTST/42: 42 patches of width 16
    layer = encoder.layers[0]
    assert layer.attn.num_heads == 4
    assert layer.ff[0].out_features == 128
    assert layer.dropout.p == 0.3
    assert model.head.dropout.p == 0.0


def test_patchtst_compact_keeps_the_earlier_variant_and_a_set_field_wins():
    spec = ModelSpec(seq_len=96, horizon=24, n_channels=3)
    compact = build_model(ModelConfig(name="patchtst_compact"), spec).mixer
    assert (len(compact.layers), compact.position.shape[1]) == (2, 64)
    wide = build_model(ModelConfig(name="patchtst", params={"d_model": 32}), spec).mixer
    assert (len(wide.layers), wide.position.shape[1]) == (3, 32)


def test_a_compare_candidate_takes_its_own_preset_not_the_main_models():
    from tsalign.components.config import RunConfig

    run = RunConfig.model_validate(
        {"model": {"name": "patchtst", "params": {"dropout": 0.2}}, "compare": ["patchtst_compact"]}
    )
    main, compact = (candidate.model for candidate in run.candidates())
    assert (main.params.d_model, main.params.e_layers, main.params.dropout) == (16, 3, 0.2)
    assert (compact.params.d_model, compact.params.e_layers, compact.params.dropout) == (64, 2, 0.2)
    # A saved config reloads to the same values.
    assert ModelConfig.model_validate(compact.model_dump()) == compact
