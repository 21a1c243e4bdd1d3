import pytest

from tsalign.components.models.backbone import (
    BackboneError,
    load_backbone,
    load_tokenizer,
    resolve_backbone,
)


def test_minilm_resolves_to_the_packaged_directory():
    path = resolve_backbone("minilm")
    assert (path / "config.json").is_file()
    assert (path / "model.safetensors").is_file()


def test_unknown_local_path_and_offline_hub_id_explain_the_fix(tmp_path, monkeypatch):
    with pytest.raises(BackboneError, match="no such directory"):
        resolve_backbone("./no/such/model/dir/at/all")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackboneError, match=r"no config\.json"):
        resolve_backbone(str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneError, match="HF_HUB_OFFLINE"):
        resolve_backbone("openai-community/gpt2")


def test_tokenizer_loads_offline():
    tok = load_tokenizer("minilm")
    assert tok("hello world")["input_ids"][0] == tok.cls_token_id


def test_truncation_keeps_first_blocks_and_rejects_too_many():
    backbone = load_backbone("minilm", n_layers=2, freeze="frozen")
    assert len(backbone.lm.encoder.layer) == 2
    assert backbone.hidden_size == 384
    assert all(not p.requires_grad for p in backbone.parameters())
    with pytest.raises(BackboneError, match=r"choose 1\.\.6"):
        load_backbone("minilm", n_layers=7, freeze="frozen")


def test_ln_pos_policy_trains_only_norms_and_positions():
    backbone = load_backbone("minilm", n_layers=2, freeze="ln_pos")
    trainable = {n for n, p in backbone.named_parameters() if p.requires_grad}
    assert trainable, "ln_pos must leave something trainable"
    assert all("LayerNorm" in n or "position_embeddings" in n for n in trainable)
    assert "lm.embeddings.position_embeddings.weight" in trainable
    # 1 embedding LN + 2 per block, weight and bias each
    assert sum("LayerNorm" in n for n in trainable) == 2 * (1 + 2 * 2)
    frozen = {n for n, p in backbone.named_parameters() if not p.requires_grad}
    assert any("attention.self.query" in n for n in frozen)
    assert any("intermediate.dense" in n for n in frozen)
    assert "lm.embeddings.word_embeddings.weight" in frozen


def test_lora_policy_trains_only_adapters_and_full_trains_all():
    lora = load_backbone("minilm", n_layers=1, freeze="lora", lora_r=4)
    trainable = [n for n, p in lora.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    # query/key/value of one block, A and B each
    assert len(trainable) == 3 * 2
    full = load_backbone("minilm", n_layers=1, freeze="full")
    assert all(p.requires_grad for p in full.parameters())
    with pytest.raises(BackboneError, match="valid policies"):
        load_backbone("minilm", n_layers=1, freeze="half")


def test_a_bf16_copy_of_the_backbone_loads_in_fp32(tmp_path):
    import torch
    from transformers import AutoModel

    # A bf16 safetensors copy (about 45 MB for MiniLM) is what travels to a GPU machine;
    # the model must still be fp32 so fp32 batches and checkpoints fit it.
    AutoModel.from_pretrained(resolve_backbone("minilm")).to(torch.bfloat16).save_pretrained(
        tmp_path
    )
    backbone = load_backbone(str(tmp_path), n_layers=1, freeze="ln_pos")
    assert {p.dtype for p in backbone.lm.parameters()} == {torch.float32}
