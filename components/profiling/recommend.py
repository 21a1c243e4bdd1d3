"""Paradigm recommendation: transparent scored rules over the three primitives.

Grounded in the position paper's guidance (arXiv 2506.11512): **injective** when
domain knowledge is rich and compute minimal; **bridging** when temporal
characteristics dominate; **internal** when the representation is complex (many
channels, long or high-frequency series) and compute is available. Every rule that
fires adds signed points to one paradigm and leaves a ``Reason``; the highest total
wins (ties: the cheaper paradigm). It is advice: the pipeline config decides what is
trained, and the evaluation records whether the recommended paradigm won, so the
rules can be audited against outcomes.

The rules live in one table-like function (``_rules``) so the thresholds are read
in one place.
"""

from __future__ import annotations

from tsalign.components.config import ProfileConfig
from tsalign.components.models.catalogue import paradigm_models
from tsalign.components.profiling.schema import (
    CharacteristicProfile,
    DomainProfile,
    Reason,
    Recommendation,
    RepresentationProfile,
    Resources,
)

PARADIGMS = ("injective", "bridging", "internal")  # cheapest first: tie-break order

# Thresholds (documented in the reasons they produce).
RICH_DOMAIN = 0.6
STRONG = 0.6  # Hyndman strength counted as "strong"
LOW_FORECASTABILITY = 0.2
MANY_CHANNELS = 7
LONG_SERIES = 20_000
SHORT_SERIES = 2_000
HIGH_FREQUENCY_S = 3_600  # sampled faster than hourly
RECURRING_SEASONS = 50  # seasons a series repeats before past windows are worth retrieving


def recommend(
    domain: DomainProfile,
    characteristic: CharacteristicProfile,
    representation: RepresentationProfile,
    targets: list[str],
    cfg: ProfileConfig,
) -> Recommendation:
    """Score each paradigm with the rule set and pick the best.

    Args:
        domain: domain primitive.
        characteristic: characteristic primitive.
        representation: representation primitive.
        targets: forecast targets (their characteristics count).
        cfg: settings (``compute`` weighs the trainable paradigms).

    Returns:
        The Recommendation with per-paradigm scores, the reasons behind them and resources.
    """
    reasons = list(_rules(domain, characteristic, representation, targets, cfg))
    scores = {p: round(sum(r.points for r in reasons if r.paradigm == p), 3) for p in PARADIGMS}
    best = max(PARADIGMS, key=lambda p: (scores[p], -PARADIGMS.index(p)))
    # The winner's reasons first, strongest first: summaries that show the first few
    # reasons then explain the choice.
    order = [best, *(p for p in PARADIGMS if p != best)]
    reasons.sort(key=lambda r: (order.index(r.paradigm), -r.points))
    return Recommendation(
        paradigm=best,
        scores=scores,
        reasons=reasons,
        resources=_resources(representation),
        caveats=_caveats(characteristic, representation, targets, best),
    )


def _target_values(
    characteristic: CharacteristicProfile, targets: list[str], field: str
) -> list[float]:
    values = []
    for name in targets:
        ch = characteristic.channels.get(name)
        value = getattr(ch, field, None) if ch is not None else None
        if value is not None:
            values.append(float(value))
    return values


def _rules(
    domain: DomainProfile,
    ch: CharacteristicProfile,
    rep: RepresentationProfile,
    targets: list[str],
    cfg: ProfileConfig,
):
    """Yield a Reason for every rule that fires."""
    # ---- injective: domain knowledge, prompt cost, no training
    k = domain.knowledge_score
    if k >= RICH_DOMAIN:
        yield Reason(
            rule="rich_domain",
            paradigm="injective",
            points=2.0,
            text=f"domain knowledge score {k:.2f} >= {RICH_DOMAIN}: the context paragraph gives a frozen LM something to reason with",
        )
    else:
        yield Reason(
            rule="thin_domain",
            paradigm="injective",
            points=round(2.0 * k - 1.0, 3),
            text=f"domain knowledge score {k:.2f} < {RICH_DOMAIN}: a prompt carries little beyond the numbers",
        )
    tokens = rep.tokens
    if tokens is not None and tokens.fits_context is False:
        yield Reason(
            rule="prompt_too_long",
            paradigm="injective",
            points=-3.0,
            text=f"an input window costs {tokens.prompt_tokens} tokens > the tokenizer's limit {tokens.model_max_length}",
        )
    elif tokens is not None and tokens.fits_context:
        yield Reason(
            rule="prompt_fits",
            paradigm="injective",
            points=0.5,
            text=f"an input window costs {tokens.prompt_tokens} tokens ({tokens.tokens_per_value:.1f} per value), within {tokens.model_max_length}",
        )
    if tokens is not None and tokens.tokens_per_value > 4:
        yield Reason(
            rule="costly_values",
            paradigm="injective",
            points=-0.5,
            text=f"{tokens.tokens_per_value:.1f} tokens per value: long prompts for little data",
        )
    if cfg.compute == "minimal":
        yield Reason(
            rule="minimal_compute",
            paradigm="injective",
            points=2.0,
            text="profile.compute=minimal: prompting needs no training",
        )
        yield Reason(
            rule="minimal_compute",
            paradigm="bridging",
            points=-1.0,
            text="profile.compute=minimal: the adapter still has to be trained",
        )
        yield Reason(
            rule="minimal_compute",
            paradigm="internal",
            points=-3.0,
            text="profile.compute=minimal: tuning LM parameters is out of budget",
        )

    # ---- bridging: temporal characteristics dominate
    seasonal = _target_values(ch, targets, "seasonal_strength")
    trend = _target_values(ch, targets, "trend_strength")
    if seasonal and max(seasonal) >= STRONG:
        yield Reason(
            rule="strong_seasonality",
            paradigm="bridging",
            points=2.0,
            text=f"seasonal strength {max(seasonal):.2f} >= {STRONG}: patches aligned to the period carry the signal a reprogramming layer maps to text prototypes",
        )
    if trend and max(trend) >= STRONG:
        yield Reason(
            rule="strong_trend",
            paradigm="bridging",
            points=1.0,
            text=f"trend strength {max(trend):.2f} >= {STRONG}: temporal structure dominates the series",
        )
    nonstat = [
        t
        for t in targets
        if t in ch.channels
        and ch.channels[t].stationarity in ("non_stationary", "difference_stationary")
    ]
    if nonstat:
        yield Reason(
            rule="non_stationary",
            paradigm="bridging",
            points=0.5,
            text=f"{', '.join(nonstat)} non-stationary (ADF/KPSS): RevIN + patch embedding handles level shifts",
        )
        yield Reason(
            rule="non_stationary",
            paradigm="injective",
            points=-0.5,
            text=f"{', '.join(nonstat)} non-stationary: serialized numbers drift outside the scale the prompt shows",
        )
    fore = _target_values(ch, targets, "forecastability")
    if fore and max(fore) >= 0.4:
        yield Reason(
            rule="forecastable",
            paradigm="bridging",
            points=0.5,
            text=f"forecastability {max(fore):.2f} (1 - spectral entropy): structure an encoder can learn",
        )

    # ---- internal: complex representation and compute available
    if rep.n_channels >= MANY_CHANNELS:
        yield Reason(
            rule="many_channels",
            paradigm="internal",
            points=1.5,
            text=f"{rep.n_channels} channels >= {MANY_CHANNELS}: channel interactions need LM capacity; prompts grow per channel",
        )
        yield Reason(
            rule="many_channels",
            paradigm="injective",
            points=-1.0,
            text=f"{rep.n_channels} channels: every channel multiplies the prompt",
        )
    if rep.length >= LONG_SERIES:
        yield Reason(
            rule="long_series",
            paradigm="internal",
            points=1.0,
            text=f"{rep.length} steps >= {LONG_SERIES}: enough windows to tune LM layers without overfitting",
        )
    elif rep.length < SHORT_SERIES:
        yield Reason(
            rule="short_series",
            paradigm="internal",
            points=-1.5,
            text=f"{rep.length} steps < {SHORT_SERIES}: too few windows to tune LM parameters",
        )
    interval = rep.sampling_interval_s
    if interval is not None and interval < HIGH_FREQUENCY_S:
        yield Reason(
            rule="high_frequency",
            paradigm="internal",
            points=0.5,
            text=f"sampled every {interval:g} s (< 1 h): long contexts per day of data",
        )
    if cfg.compute == "gpu":
        yield Reason(
            rule="gpu_available",
            paradigm="internal",
            points=1.5,
            text="profile.compute=gpu: tuning LayerNorm/positional/LoRA parameters is affordable",
        )
    elif cfg.compute == "cpu":
        yield Reason(
            rule="cpu_only",
            paradigm="internal",
            points=-0.5,
            text="profile.compute=cpu: tuning inside the LM is slow without a GPU",
        )


def _resources(rep: RepresentationProfile) -> dict[str, Resources]:
    tokens = rep.tokens
    prompt = (
        f"{tokens.prompt_tokens} prompt tokens per forecast window"
        if tokens
        else "prompt cost not priced"
    )
    return {
        "injective": Resources(
            trainable="none (frozen LM, prompt only)",
            hardware="inference only; one LM call per forecast window",
            notes=f"needs a generative causal LM (an encoder such as MiniLM cannot continue text); {prompt}",
            models=paradigm_models("injective"),
        ),
        "bridging": Resources(
            trainable="adapter into the frozen LM: patch embedding + reprogramming + head "
            "(timellm); a contrastively pre-trained patch encoder + soft prompts + head "
            "(test_align, whose first model.params.pretrain_epochs train the encoder only); "
            "retrieval: the wrapped forecaster + a linear or attention fusion",
            hardware="CPU is enough for small LMs; a GPU for 1B+ backbones",
            notes=f"model.params.patch_len {rep.patch_len}, patch_stride {rep.stride}; "
            "retrieval: one LM pass per indexed training window and channel, once per data "
            "version, then one per forecast window and channel (no backprop through the LM)",
            models=paradigm_models("bridging"),
        ),
        "internal": Resources(
            trainable="LayerNorm + positional embeddings (gpt4ts) or LoRA adapters inside the LM "
            "(gpt4ts_lora; calf, which trains a second, frozen copy of the LM beside it)",
            hardware="GPU recommended; DeepSpeed ZeRO for 1B+ backbones",
            notes="backprop through the LM: memory grows with n_layers x seq_len; calf holds "
            "two copies of the LM while training, one at inference",
            models=paradigm_models("internal"),
        ),
    }


def _caveats(
    ch: CharacteristicProfile, rep: RepresentationProfile, targets: list[str], best: str
) -> list[str]:
    notes = [
        "Advice only: the pipeline config decides what is trained; the evaluation records whether "
        f"'{best}' actually beat the others and the LLM-free ablation (Tan et al., NeurIPS 2024)."
    ]
    fore = _target_values(ch, targets, "forecastability")
    if fore and max(fore) < LOW_FORECASTABILITY:
        notes.append(
            f"forecastability {max(fore):.2f} < {LOW_FORECASTABILITY}: close to noise; expect classic "
            "baselines to be hard to beat"
        )
    seasonal = _target_values(ch, targets, "seasonal_strength")
    periods = [
        ch.channels[t].dominant_period
        for t in targets
        if t in ch.channels and ch.channels[t].dominant_period
    ]
    if seasonal and max(seasonal) >= STRONG and periods:
        seasons = rep.length // min(periods)
        if seasons >= RECURRING_SEASONS:
            notes.append(
                f"the series repeats its {min(periods)}-step season {seasons} times (>= "
                f"{RECURRING_SEASONS}): similar histories recur, which retrieval (`retrieval`, "
                "bridging: the nearest training windows and what followed them) can condition on"
            )
    if rep.tokens is None:
        notes.append("prompt cost unknown (tokenizer not available): injective score ignores it")
    if rep.missing_share > 0.05:
        notes.append(
            f"{rep.missing_share:.1%} of values missing: every paradigm depends on the fill policy"
        )
    return notes
