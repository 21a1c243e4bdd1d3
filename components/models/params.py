"""Per-model parameters: each catalogue entry registers its own pydantic model, as PEFT
has one config class per method.

``model.params`` is validated against the model of the entry ``model.name`` names (see
``Entry.params`` in :mod:`tsalign.components.models.catalogue`), so a setting that entry
does not read is an error naming the entry and its fields, never silently ignored. A layer
several entries share has one mixin here, so its settings keep one name across entries
(``patch_len``, ``patch_stride``, ``dropout``, ``lora_r`` ...); that is also what a
``compare`` candidate inherits from the main model.

Each model's defaults are its entry's published setting (PatchTST/42's and Time-LLM's ETTh1
scripts), so a field the config leaves unset takes the entry's own default: a ``compare``
candidate keeps its own preset for every field the config does not set.

Pydantic only, no torch: the config loader imports this module.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from tsalign.components.section import Section, Url

Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
Width = Annotated[int, Field(ge=1, le=65_536)]
Steps = Annotated[int, Field(ge=1, le=100_000)]
"""A length in time steps."""

API_KEY_ENV = re.compile(r"^TSALIGN_[A-Z0-9_]*API_KEY$")
"""Env vars a config may send to an endpoint: ``TSALIGN_..._API_KEY``. A config can arrive from
the Prefect UI and name any endpoint, so it must not be able to pick, say, AWS_SECRET_ACCESS_KEY."""


def _check_api_key_env(name: str) -> str:
    if not API_KEY_ENV.match(name):
        raise ValueError(
            "must name an environment variable of the form TSALIGN_<NAME>_API_KEY (e.g. "
            "TSALIGN_LLM_API_KEY); other variables are never sent to an endpoint"
        )
    return name


class Params(Section):
    """The parameters of an entry with nothing to set (naive, seasonal naive).

    Pydantic orders fields from the last base to the first, so the entries below list their
    mixins in reverse: the patch settings come first in ``tsalign models <name>``.
    """


class PatchParams(Params):
    """Patching of each channel's window (GPT4TS, Time-LLM, PatchTST)."""

    patch_len: Steps = Field(16, description="Patch length in time steps.")
    patch_stride: Steps = Field(
        8,
        description="Step between patch starts in time steps (not data.window.stride, the "
        "step between training windows).",
    )


class RevinParams(Params):
    """RevIN around a patch model whose affine setting is a choice."""

    revin_affine: bool = Field(False, description="Learn a per-channel scale/shift in RevIN.")


class DropoutParams(Params):
    """Dropout in the model body and on the forecast head."""

    dropout: Dropout = Field(0.1, description="Dropout inside the model body (encoder, adapters).")
    head_dropout: Dropout = Field(
        0.0,
        description="Dropout on the forecast itself, after the flatten-linear head (PatchTST's "
        "head_dropout; 0 as in GPT4TS and PatchTST's ETTh1 setting).",
    )


class LoraParams(Params):
    """PEFT LoRA on the LM (``gpt4ts_lora``, or ``gpt4ts`` with ``model.freeze: lora``)."""

    lora_r: int = Field(8, ge=1, le=4096, description="LoRA rank.")
    lora_alpha: int = Field(16, ge=1, le=65_536, description="LoRA scaling numerator (alpha/r).")
    lora_dropout: Dropout = Field(0.0, description="Dropout on the LoRA input.")
    lora_targets: list[str] | None = Field(
        None, description="Module names LoRA wraps; per backbone family when None."
    )


class TextFusionParams(Params):
    """How a numeric forecaster uses the window's text (``data.text``), one setting for every
    forecaster (:mod:`tsalign.components.models.fusion` implements it once).

    ``none``: no text (the twin a fused model is compared with); ``add``: a text forecast head
    added with a weight, as MM-TSFlib; ``concat``: the window's pooled text embedding joined to
    the series representation before the head; ``xattn``: the series tokens (patches) attend to
    the window's text tokens.
    """

    text_fusion: Literal["none", "add", "concat", "xattn"] = Field(
        "none",
        description="How the window's text joins the forecast (none | add | concat | xattn).",
    )
    text_weight: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="add: fixed weight of the text forecast (MM-TSFlib's prompt_weight, 0.1); "
        "None learns it.",
    )
    text_heads: int = Field(
        1, ge=1, le=64, description="xattn: attention heads (must divide the token width)."
    )
    text_pooling: Literal["mean", "attention"] = Field(
        "mean",
        description="add and concat: how a window's texts become one vector: their mean, or "
        "attention with a query from the series' representation (starts as the mean).",
    )


class RetrievalConfig(Section):
    """``model.retrieval``: condition a forecaster on the training windows most like its input.

    The training split's windows are embedded once per data version (the frozen LM over the
    serialised window, or the window's own values) and indexed with scikit-learn; each
    window's ``k`` nearest histories and what followed them are fused into the forecast
    (:mod:`tsalign.components.models.retrieval`). Any trainable forecaster takes it; the
    ``retrieval`` entry is DLinear with it, ``retrieval_wo_llm`` its LLM-free ablation.
    """

    k: int = Field(5, ge=1, le=256, description="Neighbours retrieved per window and channel.")
    embed: Literal["lm", "raw"] = Field(
        "lm",
        description="lm: the frozen model.backbone embeds each serialised window; raw: the "
        "window's own z-normalised values (no LM).",
    )
    fusion: Literal["concat", "attention"] = Field(
        "concat",
        description="concat: a linear map over the base forecast and the k retrieved futures, "
        "concatenated; attention: the window attends over the k retrieved (history, future) "
        "pairs, the result added to the base forecast.",
    )
    stride: Steps = Field(
        4,
        description="Step between indexed training windows (1 indexes every window; each "
        "indexed window costs one LM pass per channel with embed lm).",
    )


class DLinearParams(TextFusionParams):
    """DLinear (Zeng et al., AAAI 2023)."""

    moving_avg: Steps = Field(25, description="Trend kernel in time steps (odd; paper: 25).")


class PatchTSTParams(TextFusionParams, DropoutParams, PatchParams):
    """PatchTST/42, the paper's ETTh1 script (PatchTST_supervised/scripts/PatchTST/etth1.sh:
    patch 16, stride 8, d_model 16, 3 layers, 4 heads, d_ff 128, dropout 0.3, head dropout 0).
    RevIN is always affine, as in the paper."""

    d_model: Width = Field(16, description="Encoder width.")
    n_heads: int = Field(4, ge=1, le=1024, description="Attention heads.")
    e_layers: int = Field(3, ge=1, le=256, description="Encoder layers.")
    d_ff: int = Field(128, ge=1, le=1_048_576, description="Feed-forward width.")
    dropout: Dropout = Field(0.3, description="Dropout inside the encoder.")


class PatchTSTCompactParams(PatchTSTParams):
    """The wider, shallower PatchTST earlier releases shipped as ``patchtst``."""

    d_model: Width = Field(64, description="Encoder width.")
    e_layers: int = Field(2, ge=1, le=256, description="Encoder layers.")
    dropout: Dropout = Field(0.1, description="Dropout inside the encoder.")


class PatchModelParams(TextFusionParams, DropoutParams, RevinParams, PatchParams):
    """The GPT4TS body around any sequence mixer: the LLM-free ablations use it as is."""


class GPT4TSParams(LoraParams, PatchModelParams):
    """GPT4TS (Zhou et al. NeurIPS 2023); the LoRA fields apply with ``freeze: lora``."""


class TimeLLMParams(TextFusionParams, DropoutParams, RevinParams, PatchParams):
    """Time-LLM (Jin et al. ICLR 2024), its run_main.py / ETTh1 script: d_model 32, d_ff 128,
    8 reprogramming heads, 1000 text prototypes. With text fusion, the window's texts also
    join the prompt-as-prefix."""

    d_model: Width = Field(32, description="Width of the convolutional patch embedding.")
    n_heads: int = Field(8, ge=1, le=1024, description="Reprogramming attention heads.")
    d_ff: int = Field(
        128,
        ge=1,
        le=1_048_576,
        description="Hidden features kept before the head, and the per-head reprogramming "
        "key width (as the reference code).",
    )
    n_prototypes: int = Field(
        1000, ge=1, le=100_000, description="Text prototypes (1000 in the paper and code)."
    )
    prompt_tokens: int | None = Field(
        None,
        ge=8,
        le=100_000,
        description="Optional cap on the prompt-as-prefix tokens; None = no cap, as the "
        "reference code. A cap shorter than the dataset description and task is refused at "
        "build time; within it, only the tail of the input statistics can be cut.",
    )
    prompt_decimals: int | None = Field(
        None,
        ge=0,
        le=17,
        description="Decimals of the statistics quoted in the prompt; None = full precision, "
        "as the reference code (fewer decimals cost fewer tokens).",
    )
    top_lags: int = Field(
        5, ge=1, le=1000, description="Autocorrelation lags quoted in the prompt."
    )


class CALFMatchParams(Params):
    """CALF's cross-modal match and distillation; the LLM-free ablations use it as is."""

    dropout: Dropout = Field(
        0.1, description="Dropout of the match module's encoder layer (torch's default, as CALF)."
    )
    principal_components: int | None = Field(
        None,
        ge=1,
        le=100_000,
        description="Principal components of the word embeddings the textual branch attends "
        "to; None: 500 as CALF, capped at the LM width (MiniLM: 384).",
    )
    match_heads: int | None = Field(
        None,
        ge=1,
        le=1024,
        description="Heads of the cross-modal match attention; None: the LM's heads (CALF: 12).",
    )
    feature_weight: float = Field(
        0.01, ge=0.0, description="Weight of the feature regularisation loss (CALF: 0.01)."
    )
    output_weight: float = Field(
        1.0, ge=0.0, description="Weight of the output consistency loss (CALF: 1.0)."
    )


class CALFParams(LoraParams, CALFMatchParams):
    """CALF (Liu et al. AAAI 2025), its ETTh1 script and run.py defaults: LoRA r 8, alpha 32,
    dropout 0.1 on the temporal branch; 500 principal components of the word embeddings;
    feature loss weight 0.01, output consistency weight 1 (both L1)."""

    lora_alpha: int = Field(32, ge=1, le=65_536, description="LoRA scaling numerator (alpha/r).")
    lora_dropout: Dropout = Field(0.1, description="Dropout on the LoRA input.")


class TESTParams(DropoutParams, RevinParams, PatchParams):
    """TEST (Sun et al. ICLR 2024): a patch encoder trained by contrast and aligned to text
    prototypes, then soft prompts into the frozen LM."""

    pretrain_epochs: int = Field(
        1,
        ge=1,
        le=10_000,
        description="The first epochs of train.epochs train only the encoder, by contrast and "
        "text-prototype alignment; the rest train the soft prompts and head (encoder frozen).",
    )
    n_prototypes: int = Field(
        10,
        ge=1,
        le=10_000,
        description="Text prototypes chosen from the word embeddings (TEST: 10).",
    )
    prompt_tokens: int = Field(
        10, ge=1, le=1024, description="Learned soft-prompt vectors put before the patch tokens."
    )
    encoder_channels: int = Field(
        40, ge=1, le=4096, description="Channels of the causal dilated CNN encoder (TEST: 40)."
    )
    encoder_depth: int = Field(
        3,
        ge=1,
        le=16,
        description="Dilated causal blocks of the encoder (TEST: 10, on whole series).",
    )
    temperature: float = Field(
        0.2, gt=0.0, le=10.0, description="Temperature of the contrastive losses."
    )
    jitter: float = Field(
        0.1, ge=0.0, le=10.0, description="Std of the noise added to build a contrastive view."
    )
    alignment_weight: float = Field(
        1.0, ge=0.0, description="Weight of the text-prototype alignment loss."
    )


class LLMTimeParams(Params):
    """LLMTime-style prompting of a frozen causal LM (Gruver et al. NeurIPS 2023)."""

    backend: Literal["hf", "openai"] = Field(
        "hf", description="hf: local causal LM from model.backbone; openai: completions endpoint."
    )
    endpoint_url: Url | None = Field(
        None, description="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1."
    )
    endpoint_model: str | None = Field(None, description="Model name the endpoint serves.")
    api_key_env: Annotated[str, AfterValidator(_check_api_key_env)] = Field(
        "TSALIGN_LLM_API_KEY",
        description="Env var holding the endpoint key; must match TSALIGN_*API_KEY.",
    )
    timeout_s: float = Field(60.0, gt=0, le=3600, description="Per-request timeout in seconds.")
    n_samples: int = Field(
        10, ge=1, le=1000, description="Continuations drawn; the median is the forecast."
    )
    decimals: int = Field(3, ge=0, le=8, description="Digits kept after the decimal point.")
    scale_quantile: float = Field(
        0.95,
        gt=0.0,
        le=1.0,
        description="Quantile of the shifted history that is scaled to 1 (LLMTime's alpha).",
    )
    scale_offset: float = Field(
        0.3,
        ge=0.0,
        description="Shift below the history's minimum, in ranges, so values stay positive "
        "(LLMTime's beta).",
    )
    temperature: float = Field(0.7, gt=0.0, description="Sampling temperature.")
    top_p: float = Field(0.9, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    max_history: int | None = Field(
        None, ge=1, description="Serialize only the last k steps (prompt length cap)."
    )

    @model_validator(mode="after")
    def _endpoint_complete(self) -> LLMTimeParams:
        if self.backend == "openai" and not (self.endpoint_url and self.endpoint_model):
            raise ValueError(
                "backend 'openai' needs endpoint_url and endpoint_model "
                "(e.g. model.params.endpoint_url=http://127.0.0.1:8000/v1)"
            )
        return self


# Where the settings of the former flat model section went: key -> name under model.params.
FORMER_FLAT_KEYS: dict[str, str] = {
    **{
        key: key
        for key in (
            "patch_len",
            "dropout",
            "head_dropout",
            "lora_r",
            "lora_alpha",
            "lora_dropout",
            "lora_targets",
            "revin_affine",
            "d_model",
            "n_heads",
            "e_layers",
            "d_ff",
            "moving_avg",
            "n_prototypes",
            "prompt_tokens",
            "prompt_decimals",
            "top_lags",
        )
    },
    "stride": "patch_stride",
}
FORMER_INJECTIVE_KEYS: dict[str, str] = {
    **{key: key for key in LLMTimeParams.model_fields},
    "alpha": "scale_quantile",
    "beta": "scale_offset",
    "precision": "decimals",
}
"""``model.injective.<key>`` -> its name under ``model.params`` (llmtime)."""


def former_keys(section: dict[str, Any]) -> dict[str, str]:
    """The settings of ``section`` (a model section as written) in the former flat shape.

    Returns:
        ``model.<old key>`` -> ``model.params.<new name>``, empty for the current shape.
    """
    moved = {
        f"model.{key}": f"model.params.{new}"
        for key, new in FORMER_FLAT_KEYS.items()
        if key in section
    }
    injective = section.get("injective")
    if isinstance(injective, dict) and injective:
        moved.update(
            {
                f"model.injective.{key}": f"model.params.{FORMER_INJECTIVE_KEYS.get(key, key)}"
                for key in injective
            }
        )
    elif "injective" in section:
        moved["model.injective"] = "model.params"
    return moved


def migrate_former_shape(section: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    """A model section saved in the former flat shape, in today's shape.

    Exports written before ``model.params`` existed recorded every flat field; the ones
    the entry reads (``fields``) move under ``params`` with their new names, the others
    (settings of other entries) are dropped.
    """
    params = dict(section.get("params") or {})
    for key, new in FORMER_FLAT_KEYS.items():
        if key in section and new in fields:
            params[new] = section[key]
    injective = section.get("injective")
    if isinstance(injective, dict):
        for key, value in injective.items():
            new = FORMER_INJECTIVE_KEYS.get(key, key)
            if new in fields:
                params[new] = value
    kept = {k: v for k, v in section.items() if k not in FORMER_FLAT_KEYS and k != "injective"}
    return {**kept, "params": params}
