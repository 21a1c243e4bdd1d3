"""CALF (cross-modal distillation) and TEST (contrastive alignment): their own loss terms,
the branches and phases they train, and the seam that hands the terms to the recipe."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import ModelBuildError, ModelSpec, build_model
from tsalign.components.models.backbone import load_tokenizer
from tsalign.components.models.contrastive import TEST, info_nce
from tsalign.components.models.distillation import CALF, principal_components
from tsalign.components.models.objective import training_loss
from tsalign.components.training.checkpoint import Curves

SPEC = ModelSpec(seq_len=48, horizon=12, n_channels=2)


def _grads(model: torch.nn.Module, fragment: str) -> list[float]:
    return [
        float(p.grad.abs().sum()) if p.grad is not None else 0.0
        for n, p in model.named_parameters()
        if fragment in n and p.requires_grad
    ]


def test_principal_components_match_sklearn_pca_of_the_transposed_vocabulary():
    from sklearn.decomposition import PCA

    vocab = torch.randn(200, 16, generator=torch.Generator().manual_seed(0))
    ours = principal_components(vocab, 5).numpy()
    reference = PCA(n_components=5).fit_transform(vocab.numpy().T).T  # CALF's pca.py
    signs = np.sign((ours * reference).sum(axis=1, keepdims=True))  # axes are up to a sign
    np.testing.assert_allclose(ours * signs, reference, rtol=1e-3, atol=1e-3)


def test_calf_trains_both_branches_and_infers_with_the_temporal_branch_only():
    model = build_model(ModelConfig(name="calf", n_layers=1), SPEC)
    assert isinstance(model, CALF)
    x, y = torch.randn(4, 48, 2), torch.randn(4, 12, 2)
    loss, terms = training_loss(model, model(x), y)
    assert set(terms) == {"supervised", "feature", "consistency"}
    assert all(t.item() > 0 for t in terms.values())
    loss.backward()
    assert any(_grads(model.temporal, "lora_")), "LoRA of the temporal branch gets no gradient"
    assert any(_grads(model.textual, "position_embeddings")), "the textual branch is not taught"
    assert not [
        n for n, p in model.textual.named_parameters() if p.requires_grad and "position" not in n
    ]

    model.eval()
    calls = []
    model.textual.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        before = model(x)
        for p in model.textual.parameters():
            p.add_(1.0)  # inference must not read the textual branch
        assert torch.equal(model(x), before)
    assert not calls
    assert model.loss_terms() == {}, "an eval forward records no terms"


def test_calf_refuses_more_components_than_the_embedding_width():
    with pytest.raises(ModelBuildError, match=r"principal_components=400.*at most 384"):
        build_model(ModelConfig(name="calf_wo_llm", params={"principal_components": 400}), SPEC)


def test_test_pretrains_only_the_encoder_then_freezes_it_for_the_prompts():
    model = build_model(ModelConfig(name="test_align", n_layers=1), SPEC)
    assert isinstance(model, TEST) and model.pretrain_epochs == 1
    x, y = torch.randn(8, 48, 2), torch.randn(8, 12, 2)

    model.train()
    model.start_epoch(0)  # a pre-training epoch: contrast and alignment, no forecast loss
    loss, terms = training_loss(model, model(x), y)
    assert set(terms) == {"instance", "feature", "alignment"}
    loss.backward()
    assert any(_grads(model, "encoder.")) and not any(
        _grads(model, "prompts") + _grads(model, "head.")
    )

    model.zero_grad()
    model.start_epoch(1)  # forecasting: soft prompts and head; the encoder is frozen
    loss, terms = training_loss(model, model(x), y)
    assert set(terms) == {"supervised"}
    loss.backward()
    assert not any(_grads(model, "encoder.")) and any(_grads(model, "prompts"))
    assert not any(p.requires_grad for p in model.mixer.parameters()), "the LM must stay frozen"


def test_test_prototypes_are_distinct_words_of_the_lm_vocabulary():
    model = build_model(ModelConfig(name="test_align_wo_llm", params={"n_prototypes": 6}), SPEC)
    tokenizer = load_tokenizer("minilm")
    from tsalign.components.models.backbone import load_backbone

    vocab = load_backbone("minilm", 1, "frozen").word_embeddings().detach()
    rows = [int(torch.where((vocab == p).all(dim=1))[0][0]) for p in model.prototypes]
    assert len(set(rows)) == 6
    assert all(isinstance(w, str) for w in tokenizer.convert_ids_to_tokens(rows))


def test_info_nce_is_low_for_matching_views_and_high_for_shuffled_ones():
    a = torch.randn(16, 8)
    assert info_nce(a, a, 0.1) < info_nce(a, a[torch.randperm(16)], 0.1)


def test_a_plain_model_is_trained_on_the_mse_alone():
    model = build_model(ModelConfig(name="dlinear"), SPEC)
    x, y = torch.randn(2, 48, 2), torch.randn(2, 12, 2)
    loss, terms = training_loss(model, model(x), y)
    assert list(terms) == ["supervised"]
    assert loss.item() == pytest.approx(torch.nn.functional.mse_loss(model(x), y).item())


def test_term_curves_hold_one_value_per_epoch_and_nan_where_a_term_is_absent():
    curves = Curves()
    curves.train_loss.append(1.0)
    curves.add_terms({"instance": 2.0})
    curves.train_loss.append(0.5)
    curves.add_terms({"supervised": 0.4})
    assert curves.loss_terms["instance"][0] == 2.0 and math.isnan(curves.loss_terms["instance"][1])
    assert (
        math.isnan(curves.loss_terms["supervised"][0]) and curves.loss_terms["supervised"][1] == 0.4
    )
    assert curves.flat()["loss_supervised"] == curves.loss_terms["supervised"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["calf", "test_align"])
def test_overfits_a_real_slice_with_its_own_objective(name):
    """The training objective the recipe uses (own terms included; TEST pre-trains first)
    fits 8 ETTh1 windows."""
    values = pd.read_csv("/work/shared/data/ett/ETTh1.csv", nrows=400)[["OT"]].to_numpy(np.float32)
    values = (values - values.mean(0)) / values.std(0)
    starts = np.arange(0, 400 - 120, 35)[:8]
    x = torch.tensor(np.stack([values[s : s + 96] for s in starts]))
    y = torch.tensor(np.stack([values[s + 96 : s + 120] for s in starts]))
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=name, n_layers=1), ModelSpec(96, 24, 1))
    # CALF's learning rate order; TEST's prompts and head (a frozen LM between) take a larger one.
    opt_lr = {"calf": 1e-3, "test_align": 3e-3}[name]
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=opt_lr)
    model.train()
    phases = [(0, 10), (1, 200)] if name == "test_align" else [(0, 300)]
    first = {}
    for epoch, steps in phases:
        model.start_epoch(epoch)
        for _ in range(steps):
            loss, terms = training_loss(model, model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            for k, v in terms.items():
                first.setdefault(k, v.item())
            if "supervised" in terms and terms["supervised"].item() < first["supervised"] / 10:
                break
    model.eval()
    with torch.no_grad():
        final = torch.nn.functional.mse_loss(model(x), y).item()
    assert final < first["supervised"] / 10, f"{name}: mse {first['supervised']:.3f} -> {final:.4f}"
    if name == "test_align":
        assert terms_fell(first, model, x)


def terms_fell(first: dict[str, float], model: TEST, x: torch.Tensor) -> bool:
    """The pre-training lowered the instance contrast the encoder started with."""
    model.train()
    model.start_epoch(0)
    with torch.no_grad():
        model(x)
    return model.loss_terms()["instance"].item() < first["instance"]


def test_a_run_that_would_end_inside_pre_training_is_refused_naming_the_settings():
    from tsalign.components.config import TrainConfig
    from tsalign.components.models.objective import AuxiliaryObjective
    from tsalign.components.training.recipe import _check_pretraining

    class Pretrains(AuxiliaryObjective):
        pretrain_epochs = 2

    with pytest.raises(ValueError, match=r"pretrain_epochs=2 leaves no forecasting epoch"):
        _check_pretraining(Pretrains(), TrainConfig(epochs=2), steps_per_epoch=4)
    with pytest.raises(ValueError, match=r"train.max_steps=8 ends within"):
        _check_pretraining(Pretrains(), TrainConfig(epochs=3, max_steps=8), steps_per_epoch=4)
    _check_pretraining(Pretrains(), TrainConfig(epochs=3, max_steps=9), steps_per_epoch=4)
