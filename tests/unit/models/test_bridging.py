import pytest
import torch

from components.config import ModelConfig
from components.models import ModelSpec, build_model, count_parameters
from components.models.bridging import build_prompts, window_statistics


def test_window_statistics_find_the_period_and_trend():
    t = torch.arange(96, dtype=torch.float32)
    series = torch.stack([torch.sin(2 * torch.pi * t / 12) + 0.01 * t, -0.05 * t])
    stats = window_statistics(series, top_lags=3)
    assert 12 in stats["lags"][0].tolist()
    assert 6 not in stats["lags"][0].tolist()  # anti-correlated half period
    assert stats["trend"].tolist() == [1.0, -1.0]
    assert stats["min"][1].item() == pytest.approx(-0.05 * 95)


def test_prompt_puts_statistics_before_the_domain_text():
    stats = window_statistics(torch.randn(2, 48), top_lags=2)
    prompts = build_prompts(stats, "Hourly load.", seq_len=48, horizon=12)
    assert len(prompts) == 2
    assert prompts[0].index("Input statistics") < prompts[0].index("Hourly load.")
    assert "next 12 steps" in prompts[0]


def test_timellm_trains_only_adapter_parts(spec):
    model = build_model(ModelConfig(name="timellm"), spec)
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"embed", "prototype_map", "reprogram", "head"}
    assert all(not p.requires_grad for p in model.mixer.parameters())
    x = torch.randn(2, spec.seq_len, spec.n_channels)
    y = model(x)
    assert y.shape == (2, spec.horizon, spec.n_channels)
    y.pow(2).mean().backward()
    assert model.prototype_map.weight.grad.abs().sum() > 0


def test_prompt_changes_the_forecast_but_not_for_wo_llm(spec):
    model = build_model(ModelConfig(name="timellm", dropout=0.0), spec).eval()
    other = ModelSpec(**{**spec.to_dict(), "domain_context": "Completely different words."})
    x = torch.randn(2, spec.seq_len, spec.n_channels)
    with torch.no_grad():
        a = model(x)
        model.spec = other
        b = model(x)
    assert not torch.allclose(a, b)
    assert not build_model(ModelConfig(name="timellm_wo_llm"), spec).use_prompt


@pytest.mark.parametrize("name", ["timellm_wo_llm", "timellm_llm2attn", "timellm_llm2trans"])
def test_timellm_ablations_have_no_lm(spec, name):
    model = build_model(ModelConfig(name=name), spec)
    trainable, total = count_parameters(model)
    assert trainable == total
    assert model(torch.randn(2, spec.seq_len, spec.n_channels)).shape == (2, 24, 3)
