"""Text fusion (model.params.text_fusion) on every numeric forecaster: shapes, the no-text
path, that text changes the forecast, save/load, and the build errors."""

from __future__ import annotations

import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import ModelSpec, build_model, load_pretrained, save_pretrained
from tsalign.components.models.fusion import TextFusion, pool_tokens
from tsalign.components.models.spec import ModelBuildError

SPEC = ModelSpec(seq_len=32, horizon=8, n_channels=2, season=8, text_dim=6, text_tokens=3)
FORECASTERS = ["dlinear", "patchtst", "gpt4ts_wo_llm", "gpt4ts"]
MODES = ["add", "concat", "xattn"]


def _cfg(name: str, mode: str, **params) -> ModelConfig:
    extra = {"moving_avg": 5} if name == "dlinear" else {"patch_len": 8, "patch_stride": 4}
    return ModelConfig(name=name, n_layers=1, params={"text_fusion": mode, **extra, **params})


def _batch(b: int = 4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = torch.randn(b, SPEC.seq_len, SPEC.n_channels)
    text = torch.randn(b, SPEC.text_tokens, SPEC.text_dim)
    mask = torch.tensor([[True, True, False], [True, False, False], [False] * 3, [True] * 3])
    return x, text, mask[:b]


def _train_fusion_blocks(model: torch.nn.Module) -> None:
    # Move every parameter so a zero-initialised block no longer hides the text.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)


@pytest.mark.parametrize("name", FORECASTERS)
@pytest.mark.parametrize("mode", MODES)
def test_fused_forecaster_shapes_text_effect_and_no_text_windows(name, mode):
    model = build_model(_cfg(name, mode), SPEC)
    assert isinstance(model, TextFusion) and model.mode == mode
    x, text, mask = _batch()
    model.eval()
    with torch.no_grad():
        twin = model.base(x)
        assert torch.equal(model(x), twin)  # no text given: the twin's forecast
        _train_fusion_blocks(model)
        twin = model.base(x)
        y = model(x, text, mask)
        assert y.shape == (4, SPEC.horizon, SPEC.n_channels)
        # Window 2 sees no text: exactly the twin; the others are moved by their text.
        assert torch.allclose(y[2], twin[2], atol=1e-6)
        assert not torch.allclose(y[[0, 1, 3]], twin[[0, 1, 3]])
        # A masked-out token is never read.
        other = text.clone()
        other[0, 2] = 1e3
        other[1, 1:] = -1e3
        assert torch.allclose(model(x, other, mask), y, atol=1e-5)


@pytest.mark.parametrize("mode", ["concat", "xattn"])
def test_fused_model_starts_as_its_no_text_twin(mode):
    model = build_model(_cfg("patchtst", mode), SPEC).eval()
    x, text, mask = _batch()
    with torch.no_grad():
        assert torch.allclose(model(x, text, mask), model.base(x), atol=1e-6)


def test_add_weight_is_fixed_or_learned():
    fixed = build_model(_cfg("dlinear", "add", text_weight=0.25), SPEC)
    learned = build_model(_cfg("dlinear", "add"), SPEC)
    assert "weight" not in dict(fixed.named_parameters()) and float(fixed.weight) == 0.25
    assert dict(learned.named_parameters())["weight"].requires_grad
    # 1-d, never 0-d: DeepSpeed's engine cannot view a 0-d parameter as bytes
    assert learned.weight.dim() == fixed.weight.dim() == 1
    x, text, mask = _batch()
    loss = learned(x, text, mask).pow(2).mean()
    loss.backward()
    assert learned.weight.grad is not None and learned.text_head.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", MODES)
def test_fused_model_round_trips(tmp_path, mode):
    cfg = _cfg("gpt4ts_wo_llm", mode)
    model = build_model(cfg, SPEC)
    _train_fusion_blocks(model)
    model.eval()
    x, text, mask = _batch()
    with torch.no_grad():
        expected = model(x, text, mask)
    save_pretrained(model, cfg, SPEC, tmp_path / "m")
    loaded, cfg2, spec2 = load_pretrained(tmp_path / "m")
    assert cfg2.params.text_fusion == mode and spec2.text_dim == SPEC.text_dim
    with torch.no_grad():
        assert torch.equal(loaded(x, text, mask), expected)


def test_pool_tokens_averages_real_tokens_only():
    text = torch.tensor([[[1.0], [3.0], [100.0]], [[5.0], [7.0], [9.0]]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    assert pool_tokens(text, mask).squeeze(-1).tolist() == [2.0, 0.0]


def test_fusion_errors_name_the_setting_and_fix():
    no_text = ModelSpec(seq_len=32, horizon=8, n_channels=2)
    with pytest.raises(ModelBuildError, match=r"needs text.*data\.text"):
        build_model(_cfg("dlinear", "add"), no_text)
    classify = ModelSpec(
        seq_len=32,
        horizon=8,
        n_channels=2,
        task="classify",
        n_classes=3,
        text_dim=6,
        text_tokens=1,
    )
    with pytest.raises(ModelBuildError, match="forecasting"):
        build_model(_cfg("patchtst", "concat"), classify)
    with pytest.raises(ModelBuildError, match="text_heads=3 must divide"):
        build_model(_cfg("patchtst", "xattn", text_heads=3), SPEC)
    with pytest.raises(ValueError, match="text_fusion"):
        ModelConfig(name="dlinear", params={"text_fusion": "sum"})
    with pytest.raises(ValueError, match="not a parameter"):
        ModelConfig(name="naive", params={"text_fusion": "add"})


TIMELLM = {"patch_len": 8, "patch_stride": 4, "d_model": 8, "d_ff": 16, "n_prototypes": 16}


@pytest.mark.parametrize("mode", MODES)
def test_timellm_fuses_text_and_its_prompt_prefix_reads_the_texts(mode):
    cfg = ModelConfig(name="timellm", n_layers=1, params={"text_fusion": mode, **TIMELLM})
    model = build_model(cfg, SPEC).eval()
    assert isinstance(model, TextFusion) and model.prefix.out_features == model.base.prefix_width
    x, text, mask = _batch()
    with torch.no_grad():
        assert torch.equal(model(x), model.base(x))  # no text given: the twin's forecast
        y = model(x, text, mask)
        assert y.shape == (4, SPEC.horizon, SPEC.n_channels)
        # the texts reach the LM through the prefix alone, before any fusion block has moved
        assert not torch.allclose(y[[0, 1, 3]], model.base(x)[[0, 1, 3]])
        other = text.clone()
        other[2] = 1e3  # window 2 sees no text: its masked prefix tokens are never read
        other[1, 1:] = -1e3
        assert torch.allclose(model(x, other, mask), y, atol=1e-5)


def test_timellm_without_its_lm_has_no_prompt_and_no_prefix():
    cfg = ModelConfig(name="timellm_wo_llm", params={"text_fusion": "add", **TIMELLM})
    model = build_model(cfg, SPEC)
    assert model.base.prefix_width is None and not hasattr(model, "prefix")


def test_attention_pooling_starts_as_the_mean_and_learns_from_the_series():
    mean = build_model(_cfg("patchtst", "add"), SPEC)
    attention = build_model(_cfg("patchtst", "add", text_pooling="attention"), SPEC)
    attention.load_state_dict(mean.state_dict(), strict=False)  # same weights but the query
    x, text, mask = _batch()
    mean.eval(), attention.eval()
    with torch.no_grad():
        assert torch.allclose(attention(x, text, mask), mean(x, text, mask), atol=1e-6)
    loss = attention(x, text, mask).pow(2).mean()
    loss.backward()
    grad = attention.query.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    _train_fusion_blocks(attention)
    with torch.no_grad():
        y = attention(x, text, mask)
        assert torch.allclose(y[2], attention.base(x)[2], atol=1e-6)  # no text: the twin
        assert not torch.allclose(y, mean(x, text, mask))  # the weights now follow the series
