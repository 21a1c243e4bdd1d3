"""The primitive profile of one dataset version: a versioned pydantic schema.

``profile.json`` is this model dumped as JSON. Any quantity that cannot be
computed for a channel (constant, all missing, too short, non-numeric) is
``None`` and its field name appears in that section's ``not_computable`` map with
the reason, so a reader never has to guess what a missing number means.

Bump ``SCHEMA_VERSION`` whenever a field is removed or changes meaning;
``load_profile`` refuses files written with another version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION = 1

Paradigm = Literal["injective", "bridging", "internal"]


class ProfileError(ValueError):
    """Data or a profile file that cannot be profiled/read; the message says how to fix it."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- domain


class ChannelDomain(_Model):
    """What is known about one channel's meaning."""

    name: str
    role: Literal["target", "covariate", "other"]
    unit: str | None = None
    meaning: str | None = Field(None, description="Short description derived from name/metadata.")


class TextCoverage(_Model):
    """How much time-stamped text (data.text) the input windows see.

    A window is ``input_len`` steps ending at its forecast origin t; it counts the texts
    whose end time lies in [first input step, t): ended before t, so none describes the
    forecast (the same rule the alignment uses).
    """

    texts: int = Field(description="Texts (non-empty cells) in the text file.")
    sources: list[str] = Field(description="The data.text sources, as written.")
    start: str = Field(description="Earliest text start time.")
    end: str = Field(description="Latest text end time.")
    window_steps: int = Field(description="Input window length in steps (profile.input_len).")
    windows: int = Field(description="Forecast origins counted (one per step after a window).")
    share_with_text: float = Field(ge=0.0, le=1.0, description="Share of windows with a text.")
    texts_per_window_mean: float
    texts_per_window_median: float
    texts_per_window_max: int


class DomainProfile(_Model):
    """Domain primitive: the context the series lives in."""

    name: str
    source: str
    description: str
    channels: list[ChannelDomain]
    calendar_features: list[str] = Field(
        default_factory=list, description="Calendar features derivable from the timestamps."
    )
    event_channels: list[str] = Field(
        default_factory=list, description="Binary channels that mark events (holidays...)."
    )
    text_channels: list[str] = Field(default_factory=list)
    text_coverage: TextCoverage | None = Field(
        None, description="Time-stamped text per input window; None without data.text."
    )
    domain_context: str = Field(description="Paragraph for prompt-as-prefix / injective prompts.")
    knowledge_score: float = Field(ge=0.0, le=1.0, description="0 = nothing known, 1 = rich.")
    knowledge_breakdown: dict[str, float] = Field(
        default_factory=dict, description="Points per evidence item; they sum to knowledge_score."
    )


# ------------------------------------------------------------------- characteristic


class PeriodCandidate(_Model):
    """One seasonal period found in the data."""

    period: int = Field(description="Length of one cycle in time steps.")
    acf: float = Field(
        description="Strength (-1..1): ACF at lag=period after removing slower variation."
    )
    power_share: float = Field(
        description="Share of the detrended periodogram's power at this frequency (+-3 bins)."
    )
    source: Literal["periodogram", "acf", "both"]


class ChannelCharacteristic(_Model):
    """Characteristic primitive of one channel."""

    channel: str
    points: int = Field(0, description="Points analysed (after the max_points cap).")
    periods: list[PeriodCandidate] = Field(default_factory=list, description="Strongest first.")
    dominant_period: int | None = None
    trend_strength: float | None = Field(None, description="Hyndman F_T from STL, 0..1.")
    seasonal_strength: float | None = Field(
        None, description="Hyndman F_S from STL at dominant_period, 0..1."
    )
    stl_points: int | None = Field(None, description="Points STL ran on (last segment).")
    stl_block: int | None = Field(None, description="Block-average factor applied before STL.")
    adf_pvalue: float | None = Field(None, description="ADF H0: unit root (small = stationary).")
    kpss_pvalue: float | None = Field(
        None, description="KPSS H0: level stationary (small = non-stationary); table-bounded."
    )
    stationarity: (
        Literal["stationary", "non_stationary", "trend_stationary", "difference_stationary"] | None
    ) = Field(None, description="ADF x KPSS verdict at alpha (see characteristic.stationarity).")
    acf_lags: dict[int, float] = Field(default_factory=dict, description="ACF at key lags.")
    volatility: float | None = Field(
        None, description="std of first differences / std of the series."
    )
    arch_lm_pvalue: float | None = Field(
        None, description="Engle's ARCH LM test on the STL remainder (small = heteroscedastic)."
    )
    heteroscedastic: bool | None = None
    change_points: list[str] = Field(
        default_factory=list, description="Timestamps (ISO) where the level shifts."
    )
    outlier_share: float | None = Field(
        None, description="Share of STL-remainder points with robust |z| > outlier_z."
    )
    spectral_entropy: float | None = Field(
        None, description="Normalised Shannon entropy of the spectrum, 0..1 (1 = white noise)."
    )
    forecastability: float | None = Field(None, description="1 - spectral_entropy.")
    not_computable: dict[str, str] = Field(default_factory=dict, description="field -> reason")


class CorrelationPair(_Model):
    a: str
    b: str
    pearson: float
    spearman: float


class CharacteristicProfile(_Model):
    """Characteristic primitive: per channel plus cross-channel structure."""

    channels: dict[str, ChannelCharacteristic]
    correlation: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="Pearson correlation matrix of the numeric channels."
    )
    pairs: list[CorrelationPair] = Field(
        default_factory=list, description="Channel pairs, strongest |pearson| first."
    )
    not_computable: dict[str, str] = Field(default_factory=dict)


# ------------------------------------------------------------------- representation


class ChannelRepresentation(_Model):
    """Numerical form of one channel."""

    channel: str
    dtype: str
    numeric: bool
    missing_share: float
    longest_gap: int = Field(description="Longest run of consecutive missing values, in steps.")
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    dynamic_range_db: float | None = Field(
        None, description="20*log10(max|x| / smallest non-zero |x|)."
    )
    decimals: int | None = Field(None, description="Decimal places needed to write the values.")
    significant_digits: int | None = None
    not_computable: dict[str, str] = Field(default_factory=dict)


class TokenCost(_Model):
    """What an injective prompt of the input window costs in LM tokens."""

    tokenizer: str
    value_format: str = Field(description="How one value is written, e.g. '{:.2f}'.")
    tokens_per_value: float = Field(description="Mean tokens per value incl. its separator.")
    input_len: int
    channels: int
    window_tokens: int = Field(description="Tokens of input_len steps x channels.")
    context_tokens: int = Field(description="Tokens of the domain_context paragraph.")
    prompt_tokens: int = Field(description="window_tokens + context_tokens.")
    model_max_length: int | None = None
    fits_context: bool | None = None


class RepresentationProfile(_Model):
    """Representation primitive: shape, sampling and numeric form."""

    univariate: bool
    n_channels: int
    length: int
    start: str | None = None
    end: str | None = None
    freq: str
    sampling_interval_s: float | None = None
    regular: bool | None = Field(None, description="All steps equal the median step.")
    regularity: float | None = Field(None, description="Share of steps equal to the median step.")
    channels: dict[str, ChannelRepresentation]
    missing_share: float = Field(description="Share of missing cells over all channels.")
    tokens: TokenCost | None = None
    patch_len: int
    stride: int
    patch_reason: str
    not_computable: dict[str, str] = Field(default_factory=dict)


# ------------------------------------------------------------------- recommendation


class Reason(_Model):
    """One rule that fired: which paradigm it moves, by how much, and why."""

    rule: str
    paradigm: Paradigm
    points: float
    text: str


class Resources(_Model):
    """What a paradigm needs to run on this dataset."""

    trainable: str
    hardware: str
    notes: str = ""
    models: list[str] = Field(
        default_factory=list,
        description="Catalogue entries of the paradigm (each trains beside its LLM-free ablation).",
    )


class Recommendation(_Model):
    """Scored, auditable paradigm advice; the pipeline config decides what is trained."""

    paradigm: Paradigm
    scores: dict[str, float]
    reasons: list[Reason]
    resources: dict[str, Resources]
    caveats: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- profile


class Profile(_Model):
    """The whole primitive profile of one dataset version."""

    schema_version: int = SCHEMA_VERSION
    dataset: str
    created_at: str
    elapsed_s: float
    config: dict = Field(default_factory=dict, description="ProfileConfig used.")
    targets: list[str]
    domain: DomainProfile
    characteristic: CharacteristicProfile
    representation: RepresentationProfile
    recommendation: Recommendation
    period: int | None = Field(None, description="Dominant period of the first usable target.")
    period_reason: str = Field("", description="Which channel it came from, or why it is None.")
    fitted_rows: tuple[int, int] | None = Field(
        None,
        description="[start, end) rows of the series the profile was fitted on (the training "
        "split, so no validation or test row shapes the period, season or prompt); None = "
        "every row it was given.",
    )

    def dominant_period(
        self, channel: str | None = None, max_period: int | None = None
    ) -> int | None:
        """Dominant seasonal period in time steps, e.g. for a seasonal-naive baseline.

        Args:
            channel: a channel name; None means the dataset's period (first target that has one).
            max_period: when given, the strongest candidate not longer than this (e.g. the input
                window length); None when no candidate is short enough.

        Returns:
            The period in steps, or None (see ``period_reason`` / the channel's
            ``not_computable['dominant_period']`` for why).

        Raises:
            KeyError: ``channel`` is not in the profile; the message lists the channels.
        """
        if channel is None:
            if max_period is None:
                return self.period
            for target in self.targets:
                found = self.dominant_period(target, max_period)
                if found is not None:
                    return found
            return None
        chars = self.characteristic.channels
        if channel not in chars:
            raise KeyError(f"channel {channel!r} is not in the profile; channels: {sorted(chars)}")
        item = chars[channel]
        if max_period is None:
            return item.dominant_period
        fits = [c.period for c in item.periods if c.period <= max_period]
        return fits[0] if fits else None

    def suggested_patch(self) -> tuple[int, int]:
        """(patch_len, patch_stride) for patch-based models (``model.params``), from the period."""
        return self.representation.patch_len, self.representation.stride

    def summary_rows(self) -> list[tuple[str, str]]:
        """A short (field, value) table for the terminal and the Prefect table artifact."""
        rep, rec = self.representation, self.recommendation
        rows: list[tuple[str, str]] = [
            ("dataset", self.dataset),
            ("shape", f"{rep.length} steps x {rep.n_channels} channels @ {rep.freq}"),
            ("span", f"{rep.start} .. {rep.end}"),
            (
                "fitted on",
                "all rows given"
                if self.fitted_rows is None
                else f"rows [{self.fitted_rows[0]}, {self.fitted_rows[1]}) (training split)",
            ),
            ("missing", f"{rep.missing_share:.2%}"),
            (
                "dominant period",
                _period_text(self.period, rep.sampling_interval_s)
                if self.period
                else f"none ({self.period_reason})",
            ),
        ]
        for name in self.targets:
            ch = self.characteristic.channels.get(name)
            if ch is None:
                continue
            periods = ", ".join(f"{c.period} ({c.acf:.2f})" for c in ch.periods[:3]) or "none"
            rows.append((f"{name}: periods (acf)", periods))
            rows.append(
                (
                    f"{name}: trend / seasonal strength",
                    f"{_fmt(ch.trend_strength)} / {_fmt(ch.seasonal_strength)}",
                )
            )
            rows.append(
                (
                    f"{name}: ADF p / KPSS p",
                    f"{_fmt(ch.adf_pvalue)} / {_fmt(ch.kpss_pvalue)} -> {ch.stationarity}",
                )
            )
            rows.append((f"{name}: forecastability", _fmt(ch.forecastability)))
        if self.characteristic.pairs:
            top = self.characteristic.pairs[0]
            rows.append(
                (f"corr {top.a} ~ {top.b}", f"{top.pearson:+.2f} (spearman {top.spearman:+.2f})")
            )
        rows.append(("domain knowledge", f"{self.domain.knowledge_score:.2f}"))
        if rep.tokens is not None:
            t = rep.tokens
            fits = "?" if t.fits_context is None else ("fits" if t.fits_context else "too long")
            rows.append(
                ("prompt tokens", f"{t.prompt_tokens} ({t.tokens_per_value:.1f}/value, {fits})")
            )
        rows.append(("patch (len, stride)", f"{rep.patch_len}, {rep.stride}"))
        scores = ", ".join(f"{k} {v:+.1f}" for k, v in rec.scores.items())
        rows.append(("recommended paradigm", f"{rec.paradigm} ({scores})"))
        return rows


def _period_text(period: int, interval_s: float | None) -> str:
    if not interval_s:
        return f"{period} steps"
    hours = period * interval_s / 3600
    value, unit = (hours / 24, "day") if hours >= 24 else (hours, "hour")
    span = f"{value:g} {unit}{'' if value == 1 else 's'}"
    return f"{period} steps ({span})"


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3g}"


def load_profile(path: Path) -> Profile:
    """Read a ``profile.json`` written by ``profile_dataset``.

    Args:
        path: the profile.json file.

    Returns:
        The validated Profile.

    Raises:
        ProfileError: missing file, invalid JSON, another schema version or invalid fields;
            the message names the file and says to re-run the profile stage.
    """
    path = Path(path)
    fix = "re-run `tsalign profile <config>` to regenerate it"
    if not path.is_file():
        raise ProfileError(f"{path}: profile file not found; {fix}")
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ProfileError(f"{path}: not valid JSON ({err}); {fix}") from None
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if version != SCHEMA_VERSION:
        raise ProfileError(
            f"{path}: schema_version {version!r}, this tsalign reads {SCHEMA_VERSION}; {fix}"
        )
    try:
        return Profile.model_validate(raw)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()[:5]
        )
        raise ProfileError(f"{path}: invalid profile ({problems}); {fix}") from None
