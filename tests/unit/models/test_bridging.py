import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import ModelBuildError, ModelSpec, build_model, count_parameters
from tsalign.components.models.bridging import build_prompts, window_statistics


def test_window_statistics_find_the_period_and_trend():
    t = torch.arange(96, dtype=torch.float32)
    series = torch.stack([torch.sin(2 * torch.pi * t / 12) + 0.01 * t, -0.05 * t])
    stats = window_statistics(series, top_lags=3)
    assert 12 in stats["lags"][0].tolist()
    assert 6 not in stats["lags"][0].tolist()  # anti-correlated half period
    assert stats["trend"].tolist() == [1.0, -1.0]
    assert stats["min"][1].item() == pytest.approx(-0.05 * 95)


def test_prompt_follows_time_llm_order_description_task_statistics():
    stats = window_statistics(torch.randn(2, 48), top_lags=2)
    prompts = build_prompts(stats, "Hourly load.", seq_len=48, horizon=12)
    assert len(prompts) == 2
    first = prompts[0]
    assert first.index("Hourly load.") < first.index("Task description") < first.index("Input")
    assert "forecast the next 12 steps given the previous 48 steps" in first
    assert f"min value {stats['min'][0].item()}," in first  # full precision by default
    rounded = build_prompts(stats, "Hourly load.", seq_len=48, horizon=12, decimals=2)[0]
    assert f"min value {stats['min'][0].item():.2f}," in rounded


LONG_DESCRIPTION = (
    "The Electricity Transformer Temperature (ETT) is a crucial indicator in the electric "
    "power long-term deployment. This dataset consists of two years of data from two "
    "separate counties in China, recorded hourly: oil temperature and six power load features "
    "(high, middle and low useful and useless load). Ending word: zygote."
)


def test_timellm_prompt_embeds_the_whole_description(spec):
    long_spec = ModelSpec(**{**spec.to_dict(), "domain_context": LONG_DESCRIPTION})
    model = build_model(ModelConfig(name="timellm"), long_spec)
    series = torch.randn(2, long_spec.seq_len)
    embeddings, mask = model.prompt_embeddings(series)
    ids = model.tokenizer(LONG_DESCRIPTION, add_special_tokens=False)["input_ids"]
    # Every description token reaches the LM, in order: its embeddings appear contiguously.
    found = embeddings[0, mask[0].bool()]
    want = model.vocab[torch.tensor(ids)]
    windows = found.unfold(0, len(ids), 1).permute(0, 2, 1)  # [T - k + 1, k, d_llm]
    assert any(torch.equal(w, want) for w in windows)


def test_a_prompt_cap_that_would_cut_the_description_is_refused(spec):
    long_spec = ModelSpec(**{**spec.to_dict(), "domain_context": LONG_DESCRIPTION})
    with pytest.raises(ModelBuildError, match=r"model\.params\.prompt_tokens=64 would cut"):
        build_model(ModelConfig(name="timellm", params={"prompt_tokens": 64}), long_spec)


def test_timellm_has_1000_prototypes_and_a_convolutional_patch_embedding(spec):
    model = build_model(ModelConfig(name="timellm"), spec)
    assert model.prototypes().shape[0] == 1000
    conv = model.embed[0].conv
    assert isinstance(conv, torch.nn.Conv1d)
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (16, 32, (3,))
    assert conv.bias is None and conv.padding_mode == "circular"


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
    model = build_model(ModelConfig(name="timellm", params={"dropout": 0.0}), spec).eval()
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
