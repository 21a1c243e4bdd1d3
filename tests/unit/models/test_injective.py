"""LLMTime: serializer/parser, the HF back-end on a tiny random GPT-2, the endpoint back-end
against a stub completions server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest
import torch

from tsalign.components.config import ModelConfig
from tsalign.components.models import ModelSpec, build_model, load_pretrained, save_pretrained
from tsalign.components.models.backbone import BackboneError, load_tokenizer
from tsalign.components.models.injective import (
    InjectiveBackendError,
    Scaler,
    Serializer,
    digit_separator,
)


def test_serializer_round_trips_to_precision():
    history = np.array([0.5, -1.25, 3.0, 2.2, 0.0])
    scaler = Scaler.fit(history, alpha=0.95, beta=0.3)
    ser = Serializer(precision=3, digit_sep=" ")
    text = ser.serialize(scaler.transform(history))
    assert re.fullmatch(r"(\d( \d)* ,)+", text), text
    back = scaler.inverse(ser.parse(text, len(history)))
    assert np.allclose(back, history, atol=scaler.scale * 1e-3)


def test_parser_tolerates_spacing_and_rejects_malformed():
    ser = Serializer(precision=2, digit_sep=" ")
    assert ser.parse(" 1 2 ,3 4,  - 5 6 , 7", 3).tolist() == [0.12, 0.34, -0.56]
    assert ser.parse("1 2 , x 3 , 4 5 , 6 7", 2) is None  # garbage stops the parse
    assert ser.parse("1 2 ,", 2) is None  # too short
    assert ser.parse("", 1) is None


def test_digit_separator_follows_the_tokenizer():
    # WordPiece merges digit runs, so LLMTime spaces the digits.
    assert digit_separator(load_tokenizer("minilm")) == " "


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    """A 2-layer GPT-2 with random weights and the MiniLM tokenizer (no download possible)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = load_tokenizer("minilm")
    directory = tmp_path_factory.mktemp("tiny-gpt2")
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=256,
        n_embd=32,
        n_layer=2,
        n_head=2,
        eos_token_id=tok.sep_token_id,
        bos_token_id=tok.cls_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def test_hf_backend_forecasts_and_reports_unusable(tiny_gpt2, tmp_path):
    spec = ModelSpec(seq_len=24, horizon=4, n_channels=2, domain_context="Two test sensors.")
    cfg = ModelConfig(
        name="llmtime",
        backbone=str(tiny_gpt2),
        params={"n_samples": 3, "decimals": 1},
    )
    model = build_model(cfg, spec)
    assert sum(p.requires_grad for p in model.parameters()) == 0
    x = torch.randn(2, 24, 2)
    y = model(x)
    report = model.last_report
    assert y.shape == (2, 4, 2) and torch.isfinite(y).all()
    assert report.series == 4 and report.samples == 12
    # Random weights rarely produce a well-formed continuation; whatever they produce must be
    # counted, and a series with no usable sample falls back to its last value.
    assert report.unusable >= report.fallback_series * 3
    if report.unusable:
        assert report.examples
    last = x[:, -1, :]  # [B, C]
    fell_back = (y == last[:, None, :]).all(dim=1).sum().item()
    assert fell_back >= report.fallback_series
    # Decoding is restricted to digits, separators and minus signs.
    texts = model.backend.complete("1 2 , 3 4 ,", n=4, max_new_tokens=12)
    assert len(texts) == 4
    assert set("".join(texts)) <= set("0123456789,- ")
    save_pretrained(model, cfg, spec, tmp_path / "m")
    loaded, _, _ = load_pretrained(tmp_path / "m")
    torch.manual_seed(1)
    a = model(x)
    torch.manual_seed(1)
    assert torch.equal(loaded(x), a)


def test_encoder_backbone_is_refused_with_the_fix():
    spec = ModelSpec(seq_len=24, horizon=4, n_channels=1)
    with pytest.raises(BackboneError, match="needs a causal LM"):
        build_model(ModelConfig(name="llmtime"), spec)


class _Stub(BaseHTTPRequestHandler):
    """Speaks /v1/completions: each choice repeats the last value of the prompt, except the
    first choice, which is garbage (to exercise the unusable count)."""

    requests: ClassVar[list[dict]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Stub.requests.append({"path": self.path, **body})
        last = body["prompt"].rstrip(" ,").split(",")[-1].strip()
        good = " , ".join([last] * 8) + " ,"
        choices = [{"index": 0, "text": "oops, no numbers"}]
        choices += [{"index": i, "text": good} for i in range(1, body["n"])]
        data = json.dumps({"choices": choices}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Stub.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join()


def test_endpoint_backend_median_and_unusable_count(stub_server, tmp_path):
    spec = ModelSpec(seq_len=16, horizon=5, n_channels=2, domain_context="Stub data.")
    icfg = {
        "backend": "openai",
        "endpoint_url": stub_server,
        "endpoint_model": "stub-lm",
        "n_samples": 4,
        "decimals": 3,
    }
    model_cfg = ModelConfig(name="llmtime", params=icfg)
    model = build_model(model_cfg, spec)
    x = torch.randn(3, 16, 2)
    y = model(x)
    assert y.shape == (3, 5, 2)
    # every usable sample repeats the last value, so the median does too (to precision)
    assert torch.allclose(y, x[:, -1:, :].expand(-1, 5, -1), atol=1e-2)
    assert model.last_report.samples == 6 * 4 and model.last_report.unusable == 6
    sent = _Stub.requests[0]
    assert sent["path"] == "/v1/completions" and sent["model"] == "stub-lm" and sent["n"] == 4
    assert sent["prompt"].startswith("Stub data.\n")
    save_pretrained(model, model_cfg, spec, tmp_path / "m")
    loaded, cfg2, _ = load_pretrained(tmp_path / "m")
    assert cfg2.params.endpoint_url == stub_server
    assert torch.equal(loaded(x), y)  # the stub is deterministic


def test_endpoint_down_names_the_setting():
    icfg = {
        "backend": "openai",
        "endpoint_url": "http://127.0.0.1:9/v1",
        "endpoint_model": "m",
        "timeout_s": 2,
    }
    model = build_model(
        ModelConfig(name="llmtime", params=icfg),
        ModelSpec(seq_len=8, horizon=2, n_channels=1),
    )
    with pytest.raises(InjectiveBackendError, match=r"model\.params\.endpoint_url"):
        model(torch.randn(1, 8, 1))
