"""Injective paradigm: numbers as text for a frozen causal LM (LLMTime, Gruver et al. NeurIPS 2023).

Each series is scaled, rounded to fixed precision and written as digits with the
tokenizer-aware spacing LLMTime uses (``1 2 3 , 4 5 6 ,``: one token per digit), after the
dataset's domain context. A frozen causal LM continues the text ``n_samples`` times; each
continuation is parsed (malformed ones are counted, not trusted) and the per-step median
of the usable samples is the forecast.

Back-ends: a local Hugging Face causal LM (``model.backbone``; decoding restricted to
digits, separators and the minus sign) or an OpenAI-compatible ``/completions`` endpoint
(vLLM, Ollama, ...). Forecast quality needs a real pretrained causal LM: the bundled MiniLM
is an encoder and cannot generate.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from tsalign.components.config import ModelConfig
from tsalign.components.models.backbone import (
    BackboneError,
    _quiet_transformers,
    backbone_config,
    family_of,
    load_tokenizer,
    resolve_backbone,
)
from tsalign.components.models.params import LLMTimeParams
from tsalign.components.models.spec import ModelSpec

log = logging.getLogger(__name__)

TIME_SEP = " ,"
_VALUE = re.compile(r"^-?\d+$")


class InjectiveBackendError(RuntimeError):
    """The LM back-end failed (endpoint unreachable, bad response); names the setting to fix."""


@dataclass(frozen=True)
class Scaler:
    """Affine map to the positive range LLMTime serializes: z = (x - offset) / scale."""

    offset: float
    scale: float

    @classmethod
    def fit(cls, history: np.ndarray, alpha: float, beta: float) -> Scaler:
        """offset = min - beta * range; scale = alpha-quantile of (history - offset).

        The offset keeps values positive (no sign tokens); the quantile makes typical
        values about 1, so the number of digits per value is stable.
        """
        lo, hi = float(np.min(history)), float(np.max(history))
        offset = lo - beta * (hi - lo)
        scale = float(np.quantile(history - offset, alpha))
        return cls(offset, max(scale, 1e-8))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x - self.offset) / self.scale

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return z * self.scale + self.offset


@dataclass(frozen=True)
class Serializer:
    """Fixed-precision digit strings. ``digit_sep`` is " " for tokenizers that merge digits
    (GPT-2/BERT), "" for those that already split them (LLaMA)."""

    precision: int = 3
    digit_sep: str = " "
    time_sep: str = TIME_SEP

    def serialize(self, z: np.ndarray) -> str:
        """Scaled values [T] -> ``"1 2 3 , 4 5 6 ,"`` (trailing separator invites the next value)."""
        ints = np.round(z * 10**self.precision).astype(np.int64)
        values = [("-" if v < 0 else "") + self.digit_sep.join(str(abs(int(v)))) for v in ints]
        return "".join(f"{v}{self.time_sep}" for v in values)

    def parse(self, text: str, n: int) -> np.ndarray | None:
        """First ``n`` scaled values of a continuation, or None when it holds fewer.

        Robust to spacing (spaces inside values are dropped) and stops at the first
        malformed value, as LLMTime does: what follows garbage is not trusted.
        """
        values: list[float] = []
        for piece in text.split(self.time_sep.strip()):
            token = "".join(piece.split())
            if not _VALUE.match(token):
                break
            values.append(int(token) / 10**self.precision)
            if len(values) == n:
                return np.asarray(values)
        return None


def digit_separator(tokenizer: Any) -> str:
    """ "" if the tokenizer already gives one token per digit, else " " (LLMTime's rule)."""
    ids = tokenizer("0123456789", add_special_tokens=False)["input_ids"]
    return "" if len(ids) >= 10 else " "


class Backend(Protocol):
    """Draws text continuations of a prompt."""

    def complete(self, prompt: str, n: int, max_new_tokens: int) -> list[str]: ...


class _AllowedTokens:
    """Logits processor keeping only digit, separator, minus and end-of-text tokens."""

    def __init__(self, allowed: torch.Tensor, vocab_size: int) -> None:
        self.mask = torch.full((vocab_size,), float("-inf"))
        self.mask[allowed] = 0.0

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        return scores + self.mask[: scores.shape[-1]].to(scores.device)


class HFCausalLM(nn.Module):
    """A frozen local Hugging Face causal LM as an LLMTime back-end.

    Args:
        lm: An ``AutoModelForCausalLM``.
        tokenizer: Its tokenizer.
        temperature, top_p: Sampling settings.
    """

    is_pretrained_backbone = True  # persistence: weights come from model.backbone

    def __init__(self, lm: nn.Module, tokenizer: Any, temperature: float, top_p: float) -> None:
        super().__init__()
        self.lm = lm.eval()
        for p in self.lm.parameters():
            p.requires_grad_(False)
        self.tokenizer = tokenizer
        self.temperature, self.top_p = temperature, top_p
        self.eos = tokenizer.eos_token_id
        if self.eos is None:
            self.eos = getattr(lm.config, "eos_token_id", None) or tokenizer.sep_token_id
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos
        allowed = {self.eos} if self.eos is not None else set()
        symbols = set("0123456789") | {TIME_SEP.strip(), "-"}
        # One vectorised vocabulary lookup (decode per id is ~100x slower). WordPiece "##"
        # pieces are left out: they glue onto the previous digit (breaking one token per
        # digit) and decode literally as "##5" at the start of a continuation. The space
        # markers of byte-level BPE (Ġ) and SentencePiece (▁) are stripped.
        tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        for token_id, token in enumerate(tokens):
            if str(token).startswith("##"):
                continue
            text = str(token).replace("Ġ", "").replace("▁", "").strip()
            if text in symbols:
                allowed.add(token_id)
        self.allowed = torch.tensor(sorted(allowed))
        self.context = int(
            getattr(lm.config, "max_position_embeddings", 0)
            or getattr(lm.config, "n_positions", 1024)
        )

    def n_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @torch.no_grad()
    def complete(self, prompt: str, n: int, max_new_tokens: int) -> list[str]:
        from transformers import LogitsProcessorList

        enc = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        device = next(self.lm.parameters()).device
        out = self.lm.generate(
            input_ids=enc["input_ids"].to(device),
            attention_mask=enc["attention_mask"].to(device),
            do_sample=True,
            temperature=self.temperature,
            top_p=self.top_p,
            max_new_tokens=max_new_tokens,
            num_return_sequences=n,
            logits_processor=LogitsProcessorList(
                [_AllowedTokens(self.allowed, self.lm.config.vocab_size)]
            ),
            eos_token_id=self.eos,
            pad_token_id=self.pad,
        )
        start = enc["input_ids"].shape[1]
        return [self.tokenizer.decode(seq[start:], skip_special_tokens=True) for seq in out]


class OpenAICompletions:
    """OpenAI-compatible ``POST {endpoint_url}/completions`` (vLLM, Ollama, llama.cpp server)."""

    def __init__(self, cfg: LLMTimeParams) -> None:
        assert cfg.endpoint_url and cfg.endpoint_model  # LLMTimeParams validates this
        self.url = cfg.endpoint_url.rstrip("/") + "/completions"
        self.model = cfg.endpoint_model
        self.key = os.environ.get(cfg.api_key_env, "")
        self.cfg = cfg

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(
            self.url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.cfg.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise InjectiveBackendError(
                f"model.params.endpoint_url {self.url}: HTTP {err.code} "
                f"({err.read()[:200]!r}); check endpoint_model={self.model!r} and the API key in "
                f"${self.cfg.api_key_env}"
            ) from None
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as err:
            raise InjectiveBackendError(
                f"model.params.endpoint_url {self.url}: {err}; is the server running and the "
                "URL the OpenAI-compatible base (ending in /v1)?"
            ) from None

    def complete(self, prompt: str, n: int, max_new_tokens: int) -> list[str]:
        texts: list[str] = []
        for _ in range(3):  # some servers cap n; ask again for the remainder
            body = self._post(
                {
                    "model": self.model,
                    "prompt": prompt,
                    "max_tokens": max_new_tokens,
                    "temperature": self.cfg.temperature,
                    "top_p": self.cfg.top_p,
                    "n": n - len(texts),
                }
            )
            choices = body.get("choices")
            if not isinstance(choices, list):
                raise InjectiveBackendError(
                    f"model.params.endpoint_url {self.url}: response has no 'choices' list; "
                    "the server does not speak the completions protocol"
                )
            texts += [str(c.get("text", "")) for c in choices]
            if len(texts) >= n:
                break
        return texts[:n]


@dataclass
class ParseReport:
    """Bookkeeping of the last forward: how many samples could not be used."""

    series: int = 0
    samples: int = 0
    unusable: int = 0
    fallback_series: int = 0  # no usable sample at all: last value repeated
    examples: list[str] = field(default_factory=list)


class LLMTime(nn.Module):
    """Zero-shot forecaster x [B, L, C] -> [B, H, C] by prompting a frozen causal LM.

    Channel independent: one prompt per (window, channel). No trainable parameters.
    ``last_report`` says how many sampled continuations were unusable.
    """

    def __init__(
        self, spec: ModelSpec, cfg: LLMTimeParams, backend: Backend, serializer: Serializer
    ) -> None:
        super().__init__()
        self.spec, self.cfg, self.backend, self.serializer = spec, cfg, backend, serializer
        self.last_report = ParseReport()

    def _prompt(self, history: np.ndarray) -> tuple[str, Scaler, int]:
        scaler = Scaler.fit(history, self.cfg.scale_quantile, self.cfg.scale_offset)
        body = self.serializer.serialize(scaler.transform(history))
        prefix = f"{self.spec.domain_context.strip()}\n" if self.spec.domain_context.strip() else ""
        per_step = len(body) / len(history)
        if isinstance(self.backend, HFCausalLM):
            per_step = self.backend.n_tokens(body) / len(history)
        max_new = math.ceil(per_step * self.spec.horizon * 1.2) + 2
        if isinstance(self.backend, HFCausalLM):
            # Keep the prompt plus the continuation inside the LM's context window.
            budget = self.backend.context - max_new - self.backend.n_tokens(prefix) - 1
            keep = int(budget / max(per_step, 1e-6))
            if keep < len(history):
                if keep < 2:
                    raise InjectiveBackendError(
                        f"horizon {self.spec.horizon} does not fit the LM context "
                        f"({self.backend.context} tokens); use an LM with a longer context"
                    )
                return self._prompt(history[-keep:])
        return prefix + body, scaler, max_new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        series = x.detach().cpu().double().numpy().transpose(0, 2, 1).reshape(b * c, -1)
        if self.cfg.max_history:
            series = series[:, -self.cfg.max_history :]
        report = ParseReport(series=b * c)
        out = np.empty((b * c, self.spec.horizon))
        for i, history in enumerate(series):
            prompt, scaler, max_new = self._prompt(history)
            texts = self.backend.complete(prompt, self.cfg.n_samples, max_new)
            parsed = [self.serializer.parse(t, self.spec.horizon) for t in texts]
            usable = [p for p in parsed if p is not None]
            report.samples += len(texts)
            report.unusable += len(texts) - len(usable)
            if len(report.examples) < 3:
                report.examples += [t for t, p in zip(texts, parsed, strict=True) if p is None][:1]
            if usable:
                out[i] = scaler.inverse(np.median(np.stack(usable), axis=0))
            else:
                report.fallback_series += 1
                out[i] = history[-1]
        self.last_report = report
        if report.unusable:
            log.warning(
                "llmtime: %d of %d sampled continuations unusable; %d series fell back "
                "to the last value",
                report.unusable,
                report.samples,
                report.fallback_series,
            )
        y = torch.from_numpy(out.reshape(b, c, -1).transpose(0, 2, 1).copy())
        return y.to(dtype=x.dtype, device=x.device)


def load_causal_lm(ref: str) -> nn.Module:
    """A frozen ``AutoModelForCausalLM`` (all layers: a truncated LM cannot continue text).

    Raises:
        BackboneError: not a generative family, or not loadable.
    """
    from transformers import AutoModelForCausalLM

    config = backbone_config(ref)
    family = family_of(config, ref)
    if family == "bert":
        raise BackboneError(
            f"model.backbone {ref!r} is an encoder ({config.model_type}); llmtime needs a causal "
            "LM: set model.backbone to a GPT-2/LLaMA-family directory, or use an endpoint with "
            "model.params.backend=openai"
        )
    with _quiet_transformers():
        return AutoModelForCausalLM.from_pretrained(resolve_backbone(ref), local_files_only=True)


def build_llmtime(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """LLMTime over ``cfg.backbone`` (backend hf) or ``model.params.endpoint_url`` (openai).

    ``n_layers`` and ``freeze`` do not apply: the whole LM is used, frozen.
    """
    icfg: LLMTimeParams = cfg.params
    if icfg.backend == "openai":
        return LLMTime(spec, icfg, OpenAICompletions(icfg), Serializer(icfg.decimals, " "))
    tokenizer = load_tokenizer(cfg.backbone)
    backend = HFCausalLM(load_causal_lm(cfg.backbone), tokenizer, icfg.temperature, icfg.top_p)
    serializer = Serializer(icfg.decimals, digit_separator(tokenizer))
    # backend is an nn.Module, so it becomes a submodule: .to(device) moves the LM too.
    return LLMTime(spec, icfg, backend, serializer)
