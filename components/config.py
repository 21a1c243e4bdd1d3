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
from typing import Annotated, Any, Literal, NamedTuple, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    Field,
    SerializationInfo,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tsalign.components.excerpt import prune, quote, short_repr
from tsalign.components.models.catalogue import (
    ENTRIES,
    entry_fields,
    is_trainable,
    lora_applies,
    not_a_parameter,
    params_model,
    retrieval_embed,
)
from tsalign.components.models.params import LoraParams, Params, RetrievalConfig, former_keys
from tsalign.components.redaction import redact, redact_text
from tsalign.components.section import FreeText, Section, Url


class ConfigError(ValueError):
    """A run config that cannot be used; the message names the file, field and fix."""


PRESET_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


def _check_preset_name(name: str) -> str:
    if not PRESET_NAME.match(name):
        raise ValueError(
            "must be the name of a preset in infra/deepspeed/ (zero0, zero1, zero2, "
            "zero2_offload, zero3, zero3_offload), never a path"
        )
    return name


Task = Literal["forecast", "classify", "anomaly"]
"""What a run learns: forecast windows, one label per instance, or anomaly scores per row."""

Device = Literal["auto", "cpu", "cuda"]
"""Where a stage runs its tensors; ``auto`` picks cuda when one is there."""


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


class TextSourceConfig(Section):
    """One file of time-stamped text: each row has a start, an end and text columns."""

    source: Url = Field(
        description="Local .csv/.parquet path, s3://, https:// (with sha256) or a packaged "
        "text name (time_mmd_<domain>_report, time_mmd_<domain>_search)."
    )
    start_col: str = Field("start_date", description="When the text's period starts.")
    end_col: str | None = Field(
        "end_date", description="When the text's period ends; None: it ends at start_col."
    )
    text_cols: list[str] | None = Field(
        None, min_length=1, description="Text columns; None: every text column but the times."
    )
    timestamp_format: str | None = Field(
        None, description="strftime format of start/end (as data.timestamp_format); None: ISO."
    )
    na_values: list[str] = Field(
        default_factory=list, description="Cell values that mean 'no text' (e.g. ['NA'])."
    )
    empty: Literal["refuse", "drop"] = Field(
        "refuse", description="A row with no text in any text column: refuse, or drop it."
    )
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field delimiter.")
    sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="Required pin for http(s):// sources."
    )
    endpoint_url: Url | None = Field(None, description="S3 endpoint for s3:// sources.")
    local_copy: str | None = Field(
        None, description="Packaged text: local file with the pinned content."
    )

    @model_validator(mode="after")
    def _check_format(self) -> TextSourceConfig:
        if self.timestamp_format is not None:
            check_timestamp_format(self.timestamp_format)
        return self


class TextConfig(Section):
    """Time-stamped text beside the series (reports, news, notes): ``data.text``."""

    sources: list[TextSourceConfig] = Field(
        min_length=1, description="Text files; all are written to data/<name>.text.parquet."
    )
    # Alignment: a window whose forecast starts at t sees a text only if end + lag < t.
    lag: str = Field(
        "0s", description="Publication delay: a text is seen only if end + lag < forecast start."
    )
    last: int | None = Field(
        None, ge=1, description="Each window keeps at most the last k texts; None: all."
    )
    within: str | None = Field(
        None, description="Each window keeps texts that ended within this span (e.g. 28D)."
    )

    @model_validator(mode="after")
    def _check_spans(self) -> TextConfig:
        import pandas as pd  # only when a text section is set

        for name in ("lag", "within"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                span = pd.Timedelta(value)
            except ValueError:
                raise ValueError(
                    f"{name} {value!r} is not a time span; write it as a pandas Timedelta "
                    "such as 0s, 12h, 7D"
                ) from None
            if span < pd.Timedelta(0):
                raise ValueError(f"{name} must not be negative, got {value!r}")
        return self


class PanelConfig(Section):
    """A labelled panel (task: classify): instances, each a multichannel series with one label.

    Read from a UEA/UCR archive bundled with sktime (``data.source: uea:JapaneseVowels``), a
    ``.ts`` file (``X_TRAIN.ts`` takes its ``X_TEST.ts`` sibling as the test split), or a long
    CSV/Parquet file with one row per instance and step.
    """

    instance_col: str = Field("instance_id", description="Long files: the instance id column.")
    step_col: str | None = Field(
        None, description="Long files: the order within an instance; None: 'timestamp' or 'step'."
    )
    label_col: str = Field("label", description="Long files: the class label column.")
    split_col: str | None = Field(
        None,
        description="Long files: a column of 'train'/'test' per row, kept as the split; None: "
        "test is carved from all instances (stratified, test_fraction).",
    )
    length: Literal["refuse", "pad", "truncate"] = Field(
        "pad",
        description="Instances of different lengths: refuse; pad the shorter ones (and cut "
        "longer ones) to target_length, default the longest; truncate to target_length, "
        "default the shortest (shorter ones are refused).",
    )
    target_length: int | None = Field(
        None, ge=2, le=1_000_000, description="Steps per instance after pad/truncate."
    )
    pad_with: Literal["zero", "edge"] = Field(
        "zero", description="Padding value: 0, or each channel's last observed value."
    )
    test_fraction: float = Field(
        0.2, gt=0.0, lt=1.0, description="Share of instances held out when the source has no split."
    )
    val_fraction: float = Field(
        0.2, gt=0.0, lt=1.0, description="Share of train instances carved out as validation."
    )
    seed: int = Field(2024, description="Seed of the stratified test/validation carving.")


class AnomalyDataConfig(Section):
    """Series with labelled anomaly windows (task: anomaly), in NAB's format.

    ``data.source`` is a NAB-layout corpus root (``data/<group>/<file>.csv`` and
    ``labels/combined_windows.json``) or one ``timestamp,value`` CSV.
    """

    labels: str | None = Field(
        None,
        description="Windows JSON ({'group/file.csv': [[start, end], ...]}); None: the "
        "corpus' labels/combined_windows.json. Required for a single CSV.",
    )
    series: list[str] | None = Field(
        None,
        description="Names in the windows file to ingest (e.g. realKnownCause/nyc_taxi.csv); "
        "None: every series of the corpus, or the one CSV's entry.",
    )


class SourceConfig(Section):
    """Where the series comes from and how to reach it: what the source registry reads.

    None of it reaches training or evaluation: they read the ingested, content-addressed
    dataset, so moving the download cache or the S3 endpoint keeps their cached outputs.
    """

    source: Url = Field("vic_elec", description="URI or packaged dataset name (vic_elec, etth1).")
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
    text: TextConfig | None = Field(
        None, description="Time-stamped text sources, versioned with the series."
    )


class ValidationConfig(Section):
    """How ingest reads the raw file and validates it into the canonical series."""

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
    resample: str | None = Field(
        None, description="Resample onto this pandas frequency; None = the series must be regular."
    )
    resample_agg: Literal["mean", "sum", "last", "first", "min", "max"] = "mean"
    panel: PanelConfig = Field(default_factory=PanelConfig, description="task: classify sources.")
    anomaly: AnomalyDataConfig = Field(
        default_factory=AnomalyDataConfig, description="task: anomaly sources."
    )

    @model_validator(mode="after")
    def _columns_fit_the_layout(self) -> ValidationConfig:
        if self.layout == "wide" and (self.id_col or self.value_col):
            raise ValueError("id_col/value_col describe the long layout: set layout: long")
        if self.timestamp_format is not None:
            if self.timestamp_col is None:
                raise ValueError(
                    "timestamp_format describes one column: set data.timestamp_col to it"
                )
            check_timestamp_format(self.timestamp_format)
        return self


class ProtocolConfig(Section):
    """The benchmark protocol: how the canonical series is split and cut into windows.

    All that training, profiling and evaluation read from the data section.
    """

    split: Literal["ratio", "ett_hour", "ett_minute"] = "ratio"
    split_ratios: tuple[float, float, float] = (0.7, 0.1, 0.2)
    train_fraction: float = Field(1.0, gt=0.0, le=1.0, description="Few-shot share of train rows.")
    window: WindowConfig = Field(default_factory=WindowConfig)

    @model_validator(mode="after")
    def _ratios_sum_to_one(self) -> ProtocolConfig:
        if abs(sum(self.split_ratios) - 1.0) > 1e-6:
            raise ValueError(f"split_ratios must sum to 1, got {list(self.split_ratios)}")
        return self


class DataConfig(ProtocolConfig, ValidationConfig, SourceConfig):
    """The ``data:`` section as users write it: one flat mapping of three scopes.

    Each stage takes the scope it reads (:meth:`source_config`, :meth:`validation`,
    :meth:`protocol`); the fields are declared once, in those scopes.
    """

    name: str = Field(
        "vic_elec",
        pattern=r"^[a-z0-9][a-z0-9_\-]*$",
        description="Dataset name; the canonical file is data/<name>.parquet.",
    )
    data_dir: str = Field("data", description="Directory tracked by data.dvc.")

    def source_config(self) -> SourceConfig:
        """What the source registry reads (``source`` is the URI field, hence the name)."""
        return _scope(self, SourceConfig)

    def validation(self) -> ValidationConfig:
        """What ingest reads to parse and validate the raw file."""
        return _scope(self, ValidationConfig)

    def protocol(self) -> ProtocolConfig:
        """What training, profiling and evaluation read: split and windows."""
        return _scope(self, ProtocolConfig)


SectionT = TypeVar("SectionT", bound=Section)


def _scope(section: Section, scope: type[SectionT]) -> SectionT:
    """The fields of ``section`` that ``scope`` declares, as a ``scope`` instance."""
    return scope.model_validate({name: getattr(section, name) for name in scope.model_fields})


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


def _params_schema() -> dict[str, Any]:
    """JSON schema of ``model.params``: one of the entries' parameter models (Prefect UI form)."""
    distinct = {entry.params: None for entry in ENTRIES}
    return {
        "anyOf": [model.model_json_schema() for model in distinct],
        "description": "Parameters of the catalogue entry model.name names "
        "(`tsalign models <name>` lists them).",
    }


class ModelConfig(Section):
    """Which catalogue entry to build: shared settings here, the entry's own under ``params``.

    ``params`` is validated against the parameter model the entry registers
    (:mod:`tsalign.components.models.params`): a field the config leaves unset takes that entry's
    default (its published setting), a field the entry does not read is an error.
    """

    @model_validator(mode="before")
    @classmethod
    def _former_flat_keys_moved(cls, tree: Any) -> Any:
        if isinstance(tree, dict) and (moved := former_keys(tree)):
            name = tree.get("name", cls.model_fields["name"].default)
            fields = _fields_of(name)
            raise PydanticCustomError(
                "moved_key",
                "{moves}",
                {"moves": "; ".join(_moved(old, new, name, fields) for old, new in moved.items())},
            )
        return tree

    @model_validator(mode="before")
    @classmethod
    def _retrieval_of_the_entry(cls, tree: Any) -> Any:
        """An entry with retrieval of its own (``retrieval``, ``retrieval_wo_llm``) always has
        the section, with the embedding the entry fixes."""
        if not isinstance(tree, dict):
            return tree
        name = tree.get("name", cls.model_fields["name"].default)
        embed = retrieval_embed(name) if isinstance(name, str) else None
        section = tree.get("retrieval")
        if embed is None:
            return tree
        if isinstance(section, RetrievalConfig):
            section = section.model_dump(exclude_unset=True)
        if section is None:
            section = {}
        if not isinstance(section, dict):
            return tree  # the wrong type is reported by field validation
        if section.get("embed", embed) != embed:
            other = next(
                (e.name for e in ENTRIES if e.retrieval_embed == section["embed"]), "model.name"
            )
            raise PydanticCustomError(
                "retrieval_embed_fixed",
                "model.name {name} retrieves by {embed} embeddings, so model.retrieval.embed="
                "{given} contradicts it: drop model.retrieval.embed, or use model.name={other}",
                {"name": quote(name), "embed": embed, "given": section["embed"], "other": other},
            )
        return {**tree, "retrieval": {**section, "embed": embed}}

    name: str = Field("gpt4ts", description="Catalogue name (see `tsalign models`).")
    backbone: Url = Field("minilm", description="minilm, a local HF dir, s3:// prefix or hub id.")
    n_layers: int = Field(2, ge=1, le=256, description="Keep the first k transformer blocks.")
    freeze: Literal["frozen", "ln_pos", "lora", "full"] = "ln_pos"
    params: Annotated[SerializeAsAny[Params], WithJsonSchema(_params_schema())] = Field(
        default_factory=dict,
        validate_default=True,
        description="The entry's own parameters; unset ones take the entry's defaults.",
    )
    retrieval: RetrievalConfig | None = Field(
        None,
        description="Retrieval augmentation of a forecaster: the k nearest training windows "
        "and what followed them fused into its forecast; None = none (the retrieval entries "
        "always have it).",
    )

    @field_validator("params", mode="before")
    @classmethod
    def _params_of_the_entry(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.data.get("name")
        if name is None:
            return value  # model.name itself is invalid and reported on its own
        if value is None:  # `model.params=null` drops a file's params: the entry's defaults
            value = {}
        model = params_model(name)
        if isinstance(value, Params):
            if type(value) is model:
                return value
            value = value.model_dump(exclude_unset=True)
        if model is None:  # an unknown name: preflight names it with the closest entries
            if value:
                raise PydanticCustomError(
                    "params_of_unknown_model",
                    "cannot be checked while model.name {name} is not a catalogue entry; "
                    "fix model.name first (`tsalign models` lists them)",
                    {"name": quote(name)},
                )
            return Params()
        if not isinstance(value, dict):
            return model.model_validate(value)  # reports the wrong type
        return _validate_params(model, name, value)

    @model_validator(mode="after")
    def _lora_settings_need_lora(self) -> ModelConfig:
        # Changed from the default, not merely set: a full dump sets every field.
        changed = _changed_lora(self.params)
        if changed and not lora_applies(self.name, self.freeze):
            raise PydanticCustomError(
                "lora_unused",
                "{fields} (model.params) take effect only when the LM is wrapped with LoRA, "
                "which {name} with model.freeze={freeze} is not: set model.freeze=lora (or "
                "model.name=gpt4ts_lora), or drop them",
                {"fields": ", ".join(changed), "name": quote(self.name), "freeze": self.freeze},
            )
        return self

    @model_validator(mode="after")
    def _retrieval_needs_a_trained_forecaster(self) -> ModelConfig:
        if self.retrieval is None or params_model(self.name) is None:
            return self
        if not is_trainable(self.name):
            raise PydanticCustomError(
                "retrieval_untrained",
                "model.retrieval fuses the retrieved windows with trained weights, but "
                "{name} has nothing to train; drop model.retrieval or pick a trainable "
                "forecaster (e.g. model.name=retrieval)",
                {"name": quote(self.name)},
            )
        if self.fuses_text:
            raise PydanticCustomError(
                "retrieval_with_text",
                "model.retrieval and model.params.text_fusion={fusion} cannot be combined "
                "yet; drop one of them",
                {"fusion": self.params.text_fusion},
            )
        return self

    @property
    def fuses_text(self) -> bool:
        """Whether this model reads the window's text (``params.text_fusion`` other than none)."""
        return getattr(self.params, "text_fusion", "none") != "none"

    def without_text(self) -> ModelConfig:
        """This model with ``text_fusion: none`` and the other text settings at their defaults:
        its no-text twin."""
        params = self.params.model_dump(exclude_unset=True, exclude=set(TEXT_PARAMS))
        return ModelConfig.model_validate(
            {
                **self.model_dump(exclude_unset=True, exclude={"params"}),
                "name": self.name,
                "params": {**params, "text_fusion": "none"},
            }
        )

    def text_free_dump(self) -> dict[str, Any]:
        """Every setting but the text ones: equal for a fused model and its no-text twin."""
        dump = self.model_dump(mode="json")
        dump["params"] = {k: v for k, v in dump["params"].items() if k not in TEXT_PARAMS}
        return dump

    def for_model(self, name: str, overrides: dict[str, Any] | None = None) -> ModelConfig:
        """This section for catalogue entry ``name``: the same set fields, the parameters
        ``name`` reads (shared layers share names) where they differ from this entry's
        defaults, ``name``'s own defaults for the rest.

        Differ, not merely set: a config that arrives as its full dump (the parameters of a
        served deployment) sets every field, and would hand this entry's defaults to ``name``.

        Args:
            name: the catalogue entry.
            overrides: the entry's own settings (a ``compare`` entry's ``model:``, its
                ``params`` already validated for ``name``); they win over this section's.
        """
        top = self.model_dump(exclude_unset=True, exclude={"params", "retrieval"})
        if self.retrieval is not None and retrieval_embed(name) is not None:
            # only entries with retrieval of their own take this one's settings, each with
            # its own embedding; the others are compared without retrieval
            top["retrieval"] = self.retrieval.model_dump(exclude_unset=True, exclude={"embed"})
        own = dict(overrides or {})
        fields = _fields_of(name)
        freeze = own.get("freeze", top.get("freeze", type(self).model_fields["freeze"].default))
        if not lora_applies(name, freeze):
            fields -= set(LoraParams.model_fields)
        defaults = type(self.params)()
        carried = {
            key: value
            for key, value in self.params
            if key in fields and value != getattr(defaults, key)
        }
        params = {**carried, **own.pop("params", {})}
        return ModelConfig.model_validate({**top, **own, "name": name, "params": params})


def _validate_params(model: type[Params], name: str, value: dict[str, Any]) -> Params:
    """``value`` as entry ``name``'s parameters; every problem at once (foreign keys named
    with the entry's fields, bad values by path)."""
    extra = sorted(set(value) - set(model.model_fields))
    problems: list[Any] = []
    if extra:
        message = PydanticCustomError(
            "not_a_parameter", "{problem}", {"problem": not_a_parameter(name, extra)}
        )
        problems.append({"type": message, "loc": (), "input": value})
    try:
        params = model.model_validate({k: v for k, v in value.items() if k not in extra})
    except ValidationError as err:
        problems += err.errors(include_url=False)
    if problems:
        raise ValidationError.from_exception_data(model.__name__, problems)
    return params


def _changed_lora(params: Params) -> list[str]:
    """The LoRA settings of ``params`` that differ from their defaults."""
    if not isinstance(params, LoraParams):
        return []
    return [
        key for key, info in LoraParams.model_fields.items() if getattr(params, key) != info.default
    ]


def _fields_of(name: Any) -> set[str]:
    model = params_model(name) if isinstance(name, str) else None
    return set(model.model_fields) if model else set()


def _moved(old: str, new: str, name: Any, fields: set[str]) -> str:
    """``model.stride moved to model.params.patch_stride``, and whether ``name`` reads it."""
    field = new.removeprefix("model.params").lstrip(".")
    if not field or field in fields or params_model(str(name)) is None:
        return f"{old} moved to {new}"
    return f"{old} moved to {new}, but {name!r} does not read it: drop it ({entry_fields(name)})"


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
        None,
        ge=1,
        description="Seasonal period of the model spec (seasonal baselines, MASE), for "
        "training and evaluation alike; the profile's dominant period when None.",
    )
    batch_size: int = Field(256, ge=1, le=1_048_576)
    device: Device = Field("auto", description="Where models run; auto = cuda when available.")
    max_test_windows: int | None = Field(None, ge=1, description="Cap on test windows; None = all.")
    seed: int = Field(2024, description="Seed for any sampling during evaluation.")
    text_twin: bool = Field(
        True,
        description="Train and score every text-fused candidate beside its no-text twin "
        "(the same model and train settings with text_fusion none, labelled "
        "<label>_no_text), on the same windows and seeds, with a paired bootstrap interval "
        "of the MSE difference; a twin already listed in compare is used instead.",
    )
    seeds: list[int] = Field(
        default_factory=list,
        max_length=100,
        description="Train every trainable candidate once per seed (results: mean ± std, "
        "intervals over the seeds' mean errors); empty = train.seed alone.",
    )

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:
            raise ValueError(f"seeds {repeated} are listed twice; list each seed once")
        return seeds


class TuneConfig(Section):
    """The tune stage: Ray Tune over Ray Train trials, the same budget for every candidate.

    Each trainable candidate gets ``num_samples`` trials of at most ``max_epochs`` epochs,
    sampled from its catalogue entry's search space; ASHA stops trials whose validation
    loss trails at ``grace_period``, ``grace_period * reduction_factor``, ... epochs. Only
    validation scores choose; the test split is scored once, for the chosen trial.
    """

    enabled: bool = Field(
        False, description="Tune in `tsalign run` (instead of one training run per candidate)."
    )
    num_samples: int = Field(8, ge=1, le=10_000, description="Trials per candidate.")
    max_epochs: int = Field(
        4, ge=1, le=100_000, description="Epoch budget of every trial (its train.epochs)."
    )
    grace_period: int = Field(
        1, ge=1, le=100_000, description="Epochs every trial runs before ASHA may stop it."
    )
    reduction_factor: int = Field(
        2, ge=2, le=100, description="ASHA keeps the best 1/reduction_factor at each rung."
    )
    metric: Literal["val_loss"] = Field(
        "val_loss", description="What ASHA and the choice minimise (validation only)."
    )
    max_concurrent_trials: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="Trials training at once; None = as many as the cluster's CPUs (GPUs "
        "on cuda) hold at train.num_workers x cpus_per_worker each.",
    )
    seed: int = Field(2024, description="Seed of the random search: same seed, same trials.")

    @model_validator(mode="after")
    def _grace_within_budget(self) -> TuneConfig:
        if self.grace_period > self.max_epochs:
            raise ValueError(
                f"grace_period ({self.grace_period}) exceeds max_epochs ({self.max_epochs}): "
                "ASHA could never stop a trial; lower tune.grace_period"
            )
        return self


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


SelectMode = Literal["model", "best_val"]


class PublishConfig(Section):
    """Which trained candidate becomes the registry version."""

    select: SelectMode = Field(
        "best_val",
        description="best_val: the candidate (model.name or a compare entry) with the lowest "
        "validation loss among those that beat seasonal-naive on test (test scores never rank "
        "candidates); model: always model.name.",
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


AUTO = "auto"
"""A ``compare`` entry standing for the profile's recommended paradigm: its representative
model and that model's LLM-free ablation (see ``tsalign.components.models.catalogue.auto_candidates``)."""

SHARED_TRAIN_FIELDS = ("seed", "max_val_windows", "storage_path", "ray_address", "run_name")
"""Train settings every candidate shares: the seeds they are trained under (``train.seed`` or
``eval.seeds``) and the validation windows they are compared on, and where the run's cluster
and checkpoints are."""


TEXT_PARAMS = ("text_fusion", "text_weight", "text_heads", "text_pooling")
"""The ``model.params`` fields that say how text is fused; a no-text twin differs only there."""

TWIN_SUFFIX = "_no_text"
"""The label of a fused candidate's automatic no-text twin: ``<label>_no_text``."""

LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class Candidate(NamedTuple):
    """One model to train.

    Attributes:
        model: its model section.
        train: its train section.
        auto: whether ``compare: auto`` chose it.
        label: what names it in runs, metrics, intervals and the registry (``model.name``
            unless a compare entry gives ``label``; ``<label>_no_text`` for a twin).
        twin_of: for a no-text twin, the label of the fused candidate it is compared with.
    """

    model: ModelConfig
    train: TrainConfig
    auto: bool = False
    label: str = ""
    twin_of: str | None = None

    @property
    def key(self) -> str:
        """``label``, or ``model.name`` when none was given."""
        return self.label or self.model.name


def is_twin(fused: Candidate, other: Candidate) -> bool:
    """Whether ``other`` is ``fused`` without text: the same model and train settings but
    for the text ones, and no fusion."""
    return (
        fused.model.fuses_text
        and not other.model.fuses_text
        and fused.model.text_free_dump() == other.model.text_free_dump()
        and fused.train == other.train
    )


class CandidateConfig(Section):
    """A ``compare`` entry: a catalogue name, with optional settings of its own.

    ``dlinear`` and ``{name: dlinear}`` are the same entry; ``{name: dlinear, train: {lr:
    0.005}, model: {moving_avg: 13}}`` trains dlinear with those settings over the run's
    ``train`` and ``model`` sections. Both are validated as the sections they override.
    """

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, tree: Any) -> Any:
        """A bare name is an entry without overrides; the model overrides are for that name."""
        if isinstance(tree, str):
            return {"name": tree}
        if not isinstance(tree, dict | CandidateConfig):
            raise ValueError(
                "a compare entry is a catalogue name or a mapping {name: ..., model: {...}, "
                "train: {...}}"
            )
        if isinstance(tree, dict) and isinstance(tree.get("model"), dict):
            model = tree["model"]
            if "name" not in model and isinstance(tree.get("name"), str):
                return {**tree, "model": {**model, "name": tree["name"]}}
        return tree

    name: str = Field(
        description="Catalogue name (see `tsalign models`), or `auto`: the profile's "
        "recommended paradigm's representative and its LLM-free ablation."
    )
    label: str | None = Field(
        None,
        pattern=LABEL_PATTERN,
        description="What names this candidate in runs, metrics and the registry; the "
        "catalogue name when None. Lets one entry appear twice with other settings "
        "(e.g. {name: dlinear, label: dlinear_no_text, model: {params: {text_fusion: none}}}).",
    )
    model: ModelConfig | None = Field(
        None, description="Model settings of this entry, over the run's model section."
    )
    train: TrainConfig | None = Field(
        None, description="Train settings of this entry, over the run's train section."
    )

    @model_validator(mode="after")
    def _overrides_fit_the_entry(self) -> CandidateConfig:
        if self.model is not None and self.model.name != self.name:
            raise ValueError(
                f"model.name {self.model.name!r} differs from the entry's name {self.name!r}; "
                "leave model.name out (the entry's name is the model)"
            )
        if self.name == AUTO and (self.model is not None or self.label is not None):
            raise ValueError(
                "`auto` stands for models chosen after profiling, so it takes no model "
                "settings or label; list the models by name to give them their own"
            )
        shared = [f for f in SHARED_TRAIN_FIELDS if self.train and f in self.train.model_fields_set]
        if shared:
            raise ValueError(
                f"train.{shared[0]} is shared by every candidate (they are trained under the "
                "same seeds and compared on the same validation windows, in one run); set it in "
                "the run's train section"
            )
        return self

    def model_overrides(self) -> dict[str, Any]:
        """The model fields this entry sets (not its name)."""
        if self.model is None:
            return {}
        return {k: v for k, v in self.model.model_dump(exclude_unset=True).items() if k != "name"}

    def train_overrides(self) -> dict[str, Any]:
        """The train fields this entry sets."""
        return {} if self.train is None else self.train.model_dump(exclude_unset=True)

    @model_serializer(mode="plain")
    def _dump(self, info: SerializationInfo) -> str | dict[str, Any]:
        """A bare name when the entry sets nothing else; otherwise only the fields it sets."""
        if self.model is None and self.train is None and self.label is None:
            return self.name
        out: dict[str, Any] = {"name": self.name}
        if self.label is not None:
            out["label"] = self.label
        if self.model is not None:
            model = self.model.model_dump(mode=info.mode, exclude_unset=True)
            out["model"] = {k: v for k, v in model.items() if k != "name"}
        if self.train is not None:
            out["train"] = self.train.model_dump(mode=info.mode, exclude_unset=True)
        return out


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

    task: Task = Field(
        "forecast",
        description="forecast | classify | anomaly: what the data holds and what every stage "
        "does with it (data.panel / data.anomaly describe the classify and anomaly sources).",
    )
    data: DataConfig = Field(default_factory=DataConfig)
    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    tune: TuneConfig = Field(default_factory=TuneConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    compare: list[CandidateConfig] = Field(
        default_factory=lambda: [CandidateConfig(name="gpt4ts_wo_llm")],
        description="Models trained beside model.name and evaluated on the same windows "
        "(LLM-free ablations, DLinear, PatchTST): catalogue names, `auto`, or "
        "{name, model: {...}, train: {...}} with settings of their own. Each takes the model "
        "fields the model section sets and the model.params it reads that differ from "
        "model.name's defaults (each entry's own defaults fill the rest) and the train "
        "section; its own settings win.",
    )
    workdir: str = Field("outputs", description="Where stage outputs (profiles, reports) go.")

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of the whole config (recorded with results)."""
        import hashlib

        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def train_seeds(self) -> list[int]:
        """Seeds each trainable candidate is trained with: ``eval.seeds``, else ``train.seed``."""
        return list(self.eval.seeds) or [self.train.seed]

    def seeded(self, trainable: bool = True) -> list[RunConfig]:
        """This config once per training seed (``train.seed`` set to it).

        Args:
            trainable: False for a model with nothing to fit, which needs one export.
        """
        seeds = self.train_seeds() if trainable else self.train_seeds()[:1]
        return [
            self.model_copy(update={"train": self.train.model_copy(update={"seed": s})})
            for s in seeds
        ]

    @field_validator("compare", mode="before")
    @classmethod
    def _auto_alone(cls, value: Any) -> Any:
        """``compare: auto`` is ``compare: [auto]``."""
        return [value] if value == AUTO else value

    @model_validator(mode="after")
    def _one_entry_per_model(self) -> RunConfig:
        seen = {self.model.name}
        for i, entry in enumerate(self.compare):
            bare = entry.model is None and entry.train is None and entry.label is None
            key = entry.label or entry.name
            if key in seen and not (bare and entry.name == self.model.name):
                what = "model.name" if key == self.model.name else "an earlier entry"
                raise ValueError(
                    f"compare[{i}]: {key!r} is already {what}; each candidate is trained "
                    "once per run: give its settings in one place, or give this entry its "
                    "own `label`"
                )
            seen.add(key)
        try:
            self.candidates()
        except ValidationError as err:
            raise ValueError(f"the compare entries give invalid settings: {err}") from None
        return self

    @property
    def has_auto(self) -> bool:
        """Whether ``compare`` includes ``auto`` (resolved after profiling)."""
        return any(entry.name == AUTO for entry in self.compare)

    def candidates(self, auto: list[str] | tuple[str, ...] = ()) -> list[Candidate]:
        """The models to train: ``model`` first, then each ``compare`` entry.

        Args:
            auto: the catalogue names ``auto`` stands for (from the profile's
                recommendation); models already listed are not repeated.
        """
        out = [Candidate(self.model, self.train, label=self.model.name)]
        named = {self.model.name, *(e.label or e.name for e in self.compare)}
        for entry in self.compare:
            if entry.name == self.model.name and entry.label is None:
                continue
            names = [n for n in auto if n not in named] if entry.name == AUTO else [entry.name]
            for name in names:
                named.add(name)
                train = TrainConfig.model_validate(
                    {**self.train.model_dump(exclude_unset=True), **entry.train_overrides()}
                )
                model = self.model.for_model(name, entry.model_overrides())
                label = entry.label or name
                out.append(Candidate(model, train, auto=entry.name == AUTO, label=label))
        return self._with_text_twins(out)

    def _with_text_twins(self, candidates: list[Candidate]) -> list[Candidate]:
        """``candidates`` with each fused one's no-text twin marked (``twin_of``), and added
        right after it (``<label>_no_text``) under ``eval.text_twin`` when none is listed.

        Raises:
            ValueError: the twin's label is taken by a candidate that is not the twin.
        """
        fused = [c for c in candidates if c.model.fuses_text]
        marked = []
        for c in candidates:
            twin_of = next((f.key for f in fused if is_twin(f, c)), None)
            marked.append(c._replace(twin_of=twin_of) if twin_of else c)
        if not self.eval.text_twin:
            return marked
        labels = {c.key for c in marked}
        out: list[Candidate] = []
        for c in marked:
            out.append(c)
            if not c.model.fuses_text or any(o.twin_of == c.key for o in marked):
                continue
            label = f"{c.key}{TWIN_SUFFIX}"
            if label in labels:
                raise ValueError(
                    f"{label!r} names a candidate that is not {c.key}'s no-text twin (it "
                    "differs in more than the text settings); rename it, or set "
                    "eval.text_twin=false"
                )
            out.append(Candidate(c.model.without_text(), c.train, c.auto, label, twin_of=c.key))
        return out


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    keys = dotted.split(".")
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {dotted!r}: {key!r} is a value, not a section")
        node = child
    node[keys[-1]] = value


def apply_settings(
    config: RunConfig, settings: dict[str, Any], origin: str = "<settings>"
) -> RunConfig:
    """``config`` with dotted ``settings`` (``{"train.lr": 1e-4}``) applied and validated again.

    Fields the config leaves unset stay unset, so a model section still takes its
    entry's preset for them.

    Raises:
        ConfigError: a path that is not a field, or a value out of its bounds (named).
    """
    tree: dict[str, Any] = {}
    for path, value in settings.items():
        _set_dotted(tree, path, value)
    return build_config(_merge(config.model_dump(mode="json", exclude_unset=True), tree), origin)


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
