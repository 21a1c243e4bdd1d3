"""Run configuration: one pydantic model per section, validated once at the edge.

A run config is a YAML file (see configs/) plus ``key=value`` overrides from the
CLI or the Prefect UI. Every section forbids unknown keys, so a typo is an error
that names the dotted path of the field, never a silently ignored setting. All
defaults live here: the YAML is the whole schema, nothing downstream calls
``.get(key, default)``.

Each component receives only its own section (``cfg.data``, ``cfg.model``...),
never the whole run config.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from tsalign.components.excerpt import prune, quote, short_repr
from tsalign.components.redaction import redact, redact_text, refuse_url_credentials


class ConfigError(ValueError):
    """A run config that cannot be used; the message names the file, field and fix."""


Url = Annotated[str, AfterValidator(refuse_url_credentials)]
"""A location (path or URI) that may never carry a password, token or signature."""
FreeText = Annotated[str, AfterValidator(redact_text)]
"""Text kept with every run (profile, reports, metadata): secrets in it are masked on entry."""

API_KEY_ENV = re.compile(r"^TSALIGN_[A-Z0-9_]*API_KEY$")
"""Env vars a config may send to an endpoint: ``TSALIGN_..._API_KEY``. A config can arrive from
the Prefect UI and name any endpoint, so it must not be able to pick, say, AWS_SECRET_ACCESS_KEY."""
PRESET_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


def _check_api_key_env(name: str) -> str:
    if not API_KEY_ENV.match(name):
        raise ValueError(
            "must name an environment variable of the form TSALIGN_<NAME>_API_KEY (e.g. "
            "TSALIGN_LLM_API_KEY); other variables are never sent to an endpoint"
        )
    return name


def _check_preset_name(name: str) -> str:
    if not PRESET_NAME.match(name):
        raise ValueError(
            "must be the name of a preset in infra/deepspeed/ (zero0, zero1, zero2, "
            "zero2_offload, zero3, zero3_offload), never a path"
        )
    return name


Device = Literal["auto", "cpu", "cuda"]
"""Where a stage runs its tensors; ``auto`` picks cuda when one is there."""


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, instances are immutable."""

    # NaN/inf are never a sensible setting (lr=inf passes a gt=0 bound).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class WindowConfig(Section):
    """Sliding-window protocol shared by data, models and evaluation."""

    seq_len: int = Field(
        96, ge=2, le=100_000, description="Input (look-back) length in time steps."
    )
    horizon: int = Field(24, ge=1, le=100_000, description="Forecast length in time steps.")
    stride: int = Field(
        1, ge=1, le=100_000, description="Step between consecutive training windows."
    )


QUARTER_TOKENS = {"%Y": r"(?P<year>\d{4})", "%y": r"(?P<yy>\d{2})", "%q": r"(?P<quarter>[1-4])"}
"""The directives a quarterly ``data.timestamp_format`` (one with ``%q``) may use."""


def check_timestamp_format(fmt: str) -> None:
    """Refuse a timestamp format that names no directive, or a quarterly one strftime
    cannot express (``%q`` is tsalign's quarter, usable with ``%Y``/``%y`` only)."""
    directives = re.findall(r"%.", fmt)
    if not directives:
        raise ValueError(
            f"timestamp_format {fmt!r} has no % directive; write it as a strftime format "
            "such as '%Y-%m-%d' or '%B %Y'"
        )
    if "%q" in directives:
        other = sorted(set(directives) - set(QUARTER_TOKENS) - {"%%"})
        if other or not {"%Y", "%y"} & set(directives):
            raise ValueError(
                f"quarterly timestamp_format {fmt!r} may use only %Y or %y with %q "
                "(e.g. '%Y Q%q' for '1998 Q1')"
            )


class DataConfig(Section):
    """Where the series comes from, how it is validated and how it is split."""

    name: str = Field(
        "vic_elec",
        pattern=r"^[a-z0-9][a-z0-9_\-]*$",
        description="Dataset name; the canonical file is data/<name>.parquet.",
    )
    source: Url = Field("vic_elec", description="URI or packaged dataset name (vic_elec, etth1).")
    timestamp_col: str | None = Field(None, description="Timestamp column; inferred when None.")
    timestamp_format: str | None = Field(
        None,
        description="strftime format of text timestamps (e.g. '%B %Y' for 'January 2024', "
        "'%Y %b' for '1982 Apr'); %q is the quarter 1-4 ('%Y Q%q' for '1998 Q1', only with "
        "%Y/%y). None: ISO 8601. Needs data.timestamp_col.",
    )
    targets: list[str] | None = Field(
        None, description="Channels to forecast; all numeric when None."
    )
    covariates: list[str] = Field(default_factory=list, description="Known covariate channels.")
    freq: str | None = Field(None, description="Pandas frequency alias; inferred when None.")
    description: FreeText = Field(
        "", description="What is measured, where; feeds the domain profile (secrets masked)."
    )
    units: dict[str, str] = Field(default_factory=dict, description="Unit per channel.")
    missing: Literal["refuse", "interpolate", "ffill"] = "refuse"
    sort: bool = Field(
        False, description="Sort rows by timestamp (ascending); False refuses unsorted data."
    )
    duplicates: Literal["refuse", "first", "last", "mean"] = Field(
        "refuse",
        description="Rows sharing a timestamp: refuse, or keep one per timestamp (first/last "
        "non-missing value, or the mean, per channel).",
    )
    max_rows: int | None = Field(None, ge=1, description="Keep only the LAST max_rows rows.")
    data_dir: str = Field("data", description="Directory tracked by data.dvc.")
    split: Literal["ratio", "ett_hour", "ett_minute"] = "ratio"
    split_ratios: tuple[float, float, float] = (0.7, 0.1, 0.2)
    train_fraction: float = Field(1.0, gt=0.0, le=1.0, description="Few-shot share of train rows.")
    window: WindowConfig = Field(default_factory=WindowConfig)
    # Source details (see README "Data config" for one example per source kind).
    layout: Literal["auto", "wide", "long"] = Field(
        "auto", description="wide: timestamp + one column per channel; long: id, timestamp, value."
    )
    id_col: str | None = Field(
        None, description="Long layout: series-id column; inferred when None."
    )
    value_col: str | None = Field(
        None, description="Long layout: value column; inferred when None."
    )
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field delimiter.")
    na_values: list[str] = Field(
        default_factory=list,
        description="Extra cell values that mean missing (e.g. ['X', '-']), besides empty "
        "cells, NA, N/A, NaN and null; missing cells follow data.missing.",
    )
    sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="Required pin for http(s):// sources."
    )
    endpoint_url: Url | None = Field(
        None, description="S3 endpoint for s3:// sources (MinIO, moto)."
    )
    cache_dir: str = Field(
        "~/.cache/tsalign/downloads", description="Where pinned downloads are kept (by sha256)."
    )
    local_copy: str | None = Field(
        None, description="Packaged web datasets (etth1): local file with the pinned content."
    )
    resample: str | None = Field(
        None, description="Resample onto this pandas frequency; None = the series must be regular."
    )
    resample_agg: Literal["mean", "sum", "last", "first", "min", "max"] = "mean"
    rev: str | None = Field(
        None, description="Use this data version (git rev or DVC md5) instead of the workspace."
    )
    allowed_roots: list[str] | None = Field(
        None,
        description="Directories a local data.source / data.local_copy may be read from "
        "(relative ones from the project root). None: any readable file for runs started from "
        "the CLI; runs of served deployments (Prefect UI, API, schedules) are always confined "
        "to the roots `tsalign serve` was started with (default: the project root).",
    )

    @model_validator(mode="after")
    def _ratios_sum_to_one(self) -> DataConfig:
        if abs(sum(self.split_ratios) - 1.0) > 1e-6:
            raise ValueError(f"split_ratios must sum to 1, got {list(self.split_ratios)}")
        if self.layout == "wide" and (self.id_col or self.value_col):
            raise ValueError("id_col/value_col describe the long layout: set layout: long")
        if self.timestamp_format is not None:
            if self.timestamp_col is None:
                raise ValueError(
                    "timestamp_format describes one column: set data.timestamp_col to it"
                )
            check_timestamp_format(self.timestamp_format)
        return self


class ProfileConfig(Section):
    """Primitive analysis settings (components/profiling)."""

    max_points: int = Field(
        200_000, ge=100, description="Cap on points per channel analysed: the LAST max_points rows."
    )
    tokenizer: str | None = Field(
        "minilm", description="Backbone reference whose tokenizer prices prompts; None skips it."
    )
    plots: bool = True
    input_len: int = Field(
        96,
        ge=1,
        description="Input window priced as an injective prompt; in a run config it "
        "follows data.window.seq_len unless set.",
    )
    max_period: int = Field(2000, ge=2, description="Longest seasonal period searched, in steps.")
    top_periods: int = Field(5, ge=1, le=20, description="Period candidates kept per channel.")
    stl_max_points: int = Field(
        5000, ge=50, description="STL runs on the last stl_max_points (block-averaged) points."
    )
    stl_max_period: int = Field(
        48,
        ge=2,
        description="Longer periods are block-averaged to at most this many steps for STL "
        "(STL time grows with the period: 5k points take ~0.1 s at 48, ~0.4 s at 144).",
    )
    test_max_points: int = Field(
        2000, ge=50, description="ADF/KPSS/change points: block means; ARCH: last points."
    )
    outlier_z: float = Field(
        3.5, gt=0, description="Robust z-score above which a point is an outlier."
    )
    alpha: float = Field(
        0.05, gt=0, lt=0.5, description="Significance level of the statistical tests."
    )
    compute: Literal["minimal", "cpu", "gpu"] = Field(
        "cpu", description="Compute available for training; weighs the paradigm recommendation."
    )


class InjectiveConfig(Section):
    """LLMTime-style prompting of a frozen causal LM (catalogue entry ``llmtime``)."""

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
    precision: int = Field(3, ge=0, le=8, description="Digits kept after the decimal point.")
    alpha: float = Field(0.95, gt=0.0, le=1.0, description="Scaling quantile of the history.")
    beta: float = Field(0.3, ge=0.0, description="Offset below the minimum, in ranges.")
    temperature: float = Field(0.7, gt=0.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    max_history: int | None = Field(
        None, ge=1, description="Serialize only the last k steps (prompt length cap)."
    )

    @model_validator(mode="after")
    def _endpoint_complete(self) -> InjectiveConfig:
        if self.backend == "openai" and not (self.endpoint_url and self.endpoint_model):
            raise ValueError(
                "backend 'openai' needs endpoint_url and endpoint_model "
                "(e.g. model.injective.endpoint_url=http://127.0.0.1:8000/v1)"
            )
        return self


#: Per-model defaults: the published setting a catalogue entry uses for every field the config
#: leaves unset (a set field always wins). PatchTST/42 is the paper's ETTh1 script
#: (PatchTST_supervised/scripts/PatchTST/etth1.sh: patch 16, stride 8, d_model 16, 3 layers,
#: 4 heads, d_ff 128, dropout 0.3, head dropout 0); ``patchtst_compact`` is the wider, shallower
#: variant earlier releases shipped as ``patchtst``.
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "patchtst": {
        "patch_len": 16,
        "stride": 8,
        "d_model": 16,
        "e_layers": 3,
        "n_heads": 4,
        "d_ff": 128,
        "dropout": 0.3,
        "head_dropout": 0.0,
    },
    # Time-LLM's run_main.py / ETTh1 script: d_model 32, d_ff 128, 8 reprogramming heads.
    **{
        name: {"d_model": 32, "n_heads": 8, "d_ff": 128}
        for name in ("timellm", "timellm_wo_llm", "timellm_llm2attn", "timellm_llm2trans")
    },
    "patchtst_compact": {
        "d_model": 64,
        "e_layers": 2,
        "n_heads": 4,
        "d_ff": 128,
        "dropout": 0.1,
        "head_dropout": 0.0,
    },
}


class ModelConfig(Section):
    """Which catalogue entry to build and its hyper-parameters.

    Fields the config leaves unset take the entry's :data:`MODEL_PRESETS` where it has one,
    else the field default. Preset values stay out of ``model_fields_set``, so a copy for
    another entry (:meth:`RunConfig.candidates`) takes that entry's preset instead.
    """

    name: str = Field("gpt4ts", description="Catalogue name (see `tsalign models`).")
    backbone: Url = Field("minilm", description="minilm, a local HF dir, s3:// prefix or hub id.")
    n_layers: int = Field(2, ge=1, le=256, description="Keep the first k transformer blocks.")
    freeze: Literal["frozen", "ln_pos", "lora", "full"] = "ln_pos"
    patch_len: int = Field(16, ge=1, le=100_000)
    stride: int = Field(8, ge=1, le=100_000)
    dropout: float = Field(
        0.1, ge=0.0, lt=1.0, description="Dropout inside the model body (encoder, adapters)."
    )
    head_dropout: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="Dropout on the forecast itself, after the flatten-linear head (PatchTST's "
        "head_dropout; 0 as in GPT4TS and PatchTST's ETTh1 setting).",
    )
    lora_r: int = Field(8, ge=1, le=4096)
    lora_alpha: int = Field(16, ge=1, le=65_536)
    lora_dropout: float = Field(0.0, ge=0.0, lt=1.0)
    lora_targets: list[str] | None = Field(
        None, description="Module names LoRA wraps; per backbone family when None."
    )
    revin_affine: bool = Field(False, description="Learn a per-channel scale/shift in RevIN.")
    d_model: int = Field(
        64,
        ge=1,
        le=65_536,
        description="Width of the LLM-free models (PatchTST) and of Time-LLM's patch embedding.",
    )
    n_heads: int = Field(
        4, ge=1, le=1024, description="Attention heads of PatchTST / reprogramming."
    )
    e_layers: int = Field(2, ge=1, le=256, description="Encoder layers of PatchTST.")
    d_ff: int = Field(
        128,
        ge=1,
        le=1_048_576,
        description="Feed-forward width (PatchTST); hidden features Time-LLM keeps before its "
        "head, and its per-head reprogramming key width (as the reference code).",
    )
    moving_avg: int = Field(
        25, ge=1, le=100_000, description="DLinear trend kernel, in time steps (odd)."
    )
    n_prototypes: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="Time-LLM text prototypes (1000 in the paper and reference code).",
    )
    prompt_tokens: int | None = Field(
        None,
        ge=8,
        le=100_000,
        description="Optional cap on Time-LLM's prompt-as-prefix tokens; None = no cap, as the "
        "reference code. A cap shorter than the dataset description and task is refused at "
        "build time; within it, only the tail of the input statistics can be cut.",
    )
    prompt_decimals: int | None = Field(
        None,
        ge=0,
        le=17,
        description="Decimals of the statistics quoted in Time-LLM's prompt; None = full "
        "precision, as the reference code (fewer decimals cost fewer tokens).",
    )
    top_lags: int = Field(
        5, ge=1, le=1000, description="Autocorrelation lags quoted in the prompt."
    )
    anomaly_quantile: float = Field(
        0.99, gt=0.0, lt=1.0, description="Validation-score quantile used as anomaly threshold."
    )
    injective: InjectiveConfig = Field(default_factory=InjectiveConfig)

    @model_validator(mode="after")
    def _apply_preset(self) -> ModelConfig:
        for key, value in MODEL_PRESETS.get(self.name, {}).items():
            if key not in self.model_fields_set:
                self.__dict__[key] = value  # frozen model: fill in place, before anyone reads it
        return self

    def for_model(self, name: str) -> ModelConfig:
        """This section for catalogue entry ``name``: the same set fields, ``name``'s preset."""
        return ModelConfig.model_validate({**self.model_dump(exclude_unset=True), "name": name})


class TrainConfig(Section):
    """Distributed training on Ray Train with a DeepSpeed engine per worker."""

    @model_validator(mode="before")
    @classmethod
    def _use_gpu_was_replaced(cls, tree: Any) -> Any:
        if isinstance(tree, dict) and "use_gpu" in tree:
            raise ValueError(
                "train.use_gpu was replaced by train.device (auto | cpu | cuda): write "
                "train.device=cuda for use_gpu=true, train.device=cpu for use_gpu=false"
            )
        return tree

    # Upper bounds catch typos (an extra zero) before a cluster is asked for the resources.
    num_workers: int = Field(2, ge=1, le=4096)
    device: Device = Field("auto", description="auto = cuda when the Ray cluster has GPUs.")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="auto = bf16 on cuda, fp32 on cpu; bf16 autocasts an fp32 module."
    )
    cpus_per_worker: int = Field(1, ge=1, le=1024)
    deepspeed_preset: Annotated[str, AfterValidator(_check_preset_name)] = Field(
        "zero2",
        description="Name of a preset in infra/deepspeed/ (zero0 ... zero3_offload); never a path.",
    )
    epochs: int = Field(1, ge=1, le=100_000)
    max_steps: int | None = Field(
        None, ge=1, le=1_000_000_000, description="Stop after this many optimizer steps."
    )
    batch_size: int = Field(32, ge=1, le=65_536, description="Per-worker micro-batch.")
    grad_accum: int = Field(1, ge=1, le=4096, description="Micro-batches per optimizer step.")
    grad_clip: float = Field(1.0, gt=0, le=1e6, description="Max global gradient norm.")
    lr: float = Field(1e-3, gt=0, le=1.0, description="Peak learning rate (AdamW).")
    weight_decay: float = Field(0.0, ge=0, le=1.0, description="AdamW decoupled weight decay.")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="Share of steps in linear warm-up.")
    patience: int = Field(
        3, ge=1, le=100_000, description="Epochs without validation improvement before stopping."
    )
    max_failures: int = Field(
        2, ge=0, le=1000, description="Worker-group restarts from the last checkpoint."
    )
    keep_checkpoints: int = Field(
        2, ge=1, le=1000, description="Best-k checkpoints kept, by val_loss."
    )
    max_train_windows: int | None = Field(2048, ge=1, description="Cap on training windows.")
    max_val_windows: int | None = Field(512, ge=1, description="Cap on validation windows.")
    seed: int = 2024
    storage_path: Url = Field("runs", description="Ray Train storage: local dir or s3://.")
    ray_address: Url | None = Field(None, description="Ray cluster address; local when None.")
    run_name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="Fixed run name (each candidate runs as <run_name>-<model>): rerunning "
        "the same config resumes from that run's latest checkpoint in storage_path; "
        "None = a new generated name per run.",
    )


class EvalConfig(Section):
    """Evaluation on the test split."""

    baselines: list[str] = Field(default_factory=lambda: ["seasonal_naive", "naive"])
    season: int | None = Field(
        None, ge=1, description="Seasonal period; from the profile when None."
    )
    batch_size: int = Field(256, ge=1, le=1_048_576)
    device: Device = Field("auto", description="Where models run; auto = cuda when available.")
    max_test_windows: int | None = Field(None, ge=1, description="Cap on test windows; None = all.")
    seed: int = Field(2024, description="Seed for any sampling during evaluation.")


class RegistryConfig(Section):
    """Where published versions go and when a new version takes the promotion alias.

    S3 credentials come only from the standard AWS chain (environment, profile, instance
    role); there is deliberately no field for them, so they never land in a config or manifest.
    """

    uri: Url = Field("registry", description="Local directory or s3://bucket/prefix.")
    model_name: str = Field("tsalign-forecaster", pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    endpoint_url: Url | None = Field(None, description="S3 endpoint (MinIO, moto) when not AWS.")
    promote_alias: str = Field(
        "champion",
        pattern=r"^[a-z][a-z0-9_\-]*$",
        description="Alias moved when a version passes the promotion gates.",
    )
    val_metric: str = Field("val_loss", description="Gate vs the champion (lower is better).")
    test_metric: str = Field("mse", description="Gate vs seasonal-naive on test (lower is better).")
    gc_min_age_s: float = Field(
        3600.0, ge=0, description="gc keeps orphans younger than this (a publish may be running)."
    )


_CRON = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+(\s+[0-9A-Za-z*/,\-?LW#]+){4}$")


def _check_cron(value: str | None) -> str | None:
    """Five cron fields (minute hour day-of-month month day-of-week); Prefect checks the values."""
    if value is not None and not _CRON.match(value.strip()):
        raise ValueError(
            "expected a cron expression with 5 fields (minute hour day month weekday), "
            "e.g. '0 2 * * *' for 02:00 every day, or null for no schedule"
        )
    return value if value is None else value.strip()


Cron = Annotated[str | None, AfterValidator(_check_cron)]


class ScheduleConfig(Section):
    """Cron schedules of the Prefect deployments that `tsalign serve` and
    infra/prefect/prefect.yaml create; null = no schedule (runs start from the UI or CLI).
    """

    pipeline: Cron = Field(
        "0 2 * * *",
        description="Whole pipeline: nightly re-ingest + retrain on the latest data (02:00).",
    )
    ingest: Cron = Field(None, description="Ingest alone.")
    profile: Cron = Field(None, description="Profile alone.")
    train: Cron = Field(None, description="Train alone.")
    evaluate: Cron = Field(None, description="Evaluate alone.")
    publish: Cron = Field(None, description="Publish alone.")
    timezone: str = Field("UTC", description="IANA time zone the cron times are read in.")
    active: bool = Field(True, description="False creates the schedules paused.")


class RunConfig(Section):
    """The whole run: one section per stage."""

    @model_validator(mode="before")
    @classmethod
    def _profile_prices_the_training_window(cls, tree: Any) -> Any:
        """profile.input_len follows data.window.seq_len unless the config sets it.

        Sections of the wrong type (``data: vic_elec``, ``window: 5``) are left as they
        are, so that field validation reports them by path.
        """
        if not isinstance(tree, dict):
            return tree
        profile = tree.get("profile") or {}
        if not isinstance(profile, dict) or "input_len" in profile:
            return tree
        data = tree.get("data") or {}
        if isinstance(data, DataConfig):
            seq_len = data.window.seq_len
        elif isinstance(data, dict):
            window = data.get("window") or {}
            if isinstance(window, WindowConfig):
                window = window.model_dump()
            if not isinstance(window, dict):
                return tree
            seq_len = window.get("seq_len", WindowConfig.model_fields["seq_len"].default)
        else:
            return tree
        return {**tree, "profile": {**profile, "input_len": seq_len}}

    data: DataConfig = Field(default_factory=DataConfig)
    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    compare: list[str] = Field(
        default_factory=lambda: ["gpt4ts_wo_llm"],
        description="Catalogue names trained beside model.name with the model fields it sets "
        "(each entry's MODEL_PRESETS fill the rest) and evaluated on the same windows "
        "(LLM-free ablations, DLinear, PatchTST).",
    )
    workdir: str = Field("outputs", description="Where stage outputs (profiles, reports) go.")

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of the whole config (recorded with results)."""
        import hashlib

        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def candidates(self) -> list[ModelConfig]:
        """The model sections to train: ``model`` first, then each ``compare`` entry."""
        extra = [self.model.for_model(name) for name in self.compare if name != self.model.name]
        return [self.model, *extra]


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    keys = dotted.split(".")
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {dotted!r}: {key!r} is a value, not a section")
        node = child
    node[keys[-1]] = value


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """Turn ``["train.epochs=2", "data.targets=[a,b]"]`` into a nested dict.

    Values are parsed as YAML scalars/flow collections, so ``2`` is an int,
    ``null`` is None and ``[a, b]`` is a list. A value that is not valid YAML
    (``data.description=[draft: x``) is taken as the plain string it is.

    Raises:
        ConfigError: an override without ``=`` or with an empty key.
    """
    tree: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not key=value (e.g. train.epochs=2)")
        _set_dotted(tree, key.strip(), _override_value(raw))
    return tree


def _override_value(raw: str) -> Any:
    """An override's value: YAML when it parses, else the raw text."""
    if not raw:
        return ""
    try:
        return yaml.safe_load(raw)
    except (yaml.YAMLError, RecursionError):
        return raw


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


MAX_PROBLEMS = 20
"""Invalid fields listed in one error; a pasted-in wrong file can have thousands."""


def field_path(loc: tuple[str | int, ...]) -> str:
    """``("compare", 1)`` -> ``compare[1]``; ``("data", "window", "seq_len")`` -> dotted."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _hint(item: Any, path: str) -> str:
    if item["type"] == "extra_forbidden":
        return "remove it or fix its spelling"
    if item["type"] == "model_type":
        return (
            f"is a section, not a value: set its keys, e.g. {path}.<key>=... on the command "
            f"line or an indented mapping under {path.rsplit('.', 1)[-1]}: in YAML"
        )
    return item["msg"]


def format_validation_error(err: ValidationError, origin: str) -> str:
    """One line per problem: ``origin: dotted.path: message (got value)``.

    The value is quoted as a bounded excerpt (see :mod:`tsalign.components.excerpt`).
    """
    problems = err.errors(include_url=False)
    lines = []
    for item in problems[:MAX_PROBLEMS]:
        path = field_path(tuple(item["loc"]))
        # Prune before redacting: a YAML alias bomb must never be walked in full.
        got = redact_text(short_repr(redact(prune(item.get("input")))))
        lines.append(f"{origin}: {path}: {_hint(item, path)} (got {got})")
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"{origin}: … and {len(problems) - MAX_PROBLEMS} more problems")
    return "\n".join(lines)


def build_config(tree: dict[str, Any], origin: str = "<config>") -> RunConfig:
    """Validate a nested dict into a RunConfig.

    Raises:
        ConfigError: listing every invalid field by dotted path.
    """
    try:
        return RunConfig.model_validate(tree)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, origin)) from None


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Load a YAML run config (or the embedded defaults when ``path`` is None) plus overrides.

    Raises:
        ConfigError: missing/unreadable/empty/unparsable file or any invalid field.
    """
    tree: dict[str, Any] = {}
    origin = "<defaults>"
    if path is not None:
        path = Path(path)
        origin = str(path)
        tree = read_config_file(path)
    if overrides:
        tree = _merge(tree, parse_overrides(overrides))
        origin += " + overrides"
    return build_config(tree, origin)


def read_config_file(path: Path) -> dict[str, Any]:
    """The mapping of sections in a YAML config file.

    Raises:
        ConfigError: the file is missing, unreadable, not UTF-8, not valid YAML, empty
            (only comments) or not a mapping at the top level.
    """
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; see configs/ for examples")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the file ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start}); "
            "re-save the file as UTF-8"
        ) from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(err)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    if loaded is None:
        raise ConfigError(
            f"{path}: the file is empty (no settings); add the sections to change "
            "(see configs/default.yaml), or leave out --config to run the embedded defaults"
        )
    if not isinstance(loaded, dict):
        raise ConfigError(
            f"{path}: top level must be a mapping of sections (data:, model:, train: ...), "
            f"got {type(loaded).__name__}"
        )
    return loaded


def _yaml_problem(err: yaml.YAMLError) -> str:
    """What is wrong and where, without quoting the offending line (it may be huge)."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "syntax error"
        return f"{quote(problem, 120)[1:-1]}{where}"
    return quote(str(err), 120)
