"""Small references that stages pass to each other.

Stages exchange URIs, hashes and small pydantic models — never tensors or
DataFrames — so that Prefect can cache on them, Ray workers on other machines
can read the data themselves, and each stage can be rerun alone.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Ref(BaseModel):
    model_config = ConfigDict(frozen=True)


class DatasetRef(Ref):
    """A versioned dataset: the canonical Parquet file and the DVC version of data/."""

    name: str
    path: str = Field(description="Canonical Parquet file (absolute path or URI).")
    meta_path: str = Field(description="JSON metadata beside the Parquet file.")
    md5: str = Field(description="md5 of data/ as recorded in data.dvc: the data version.")
    remote: str = Field(description="DVC remote the version was pushed to.")
    rows: int
    channels: list[str]
    timestamp_col: str
    freq: str
    text_path: str | None = Field(
        None, description="Canonical text Parquet beside the series; None without data.text."
    )
    task: str = Field(
        "forecast",
        description="forecast: one series; classify: a labelled panel; anomaly: series + windows.",
    )


class ProfileRef(Ref):
    """Where the primitive profile of a dataset version was written."""

    profile_path: str
    report_path: str
    plot_paths: list[str] = Field(default_factory=list)
    dominant_period: int | None = None
    recommended_paradigm: str | None = None
    headline: str = Field(
        "", description="One line on the data for run summaries (panels and anomaly corpora)."
    )
    domain_context: str = Field(
        "", description="Paragraph for prompt-as-prefix and injective prompts."
    )


class TrialRecord(Ref):
    """One Ray Tune trial: the settings it sampled and how far it got."""

    trial_id: str
    overrides: dict[str, Any] = Field(description="Dotted config path -> sampled value.")
    val_loss: float | None = Field(None, description="Best validation loss it reported.")
    epochs: int = Field(0, description="Epochs it finished.")
    status: Literal["finished", "stopped_early", "error"]
    error: str | None = None


class TuneResult(Ref):
    """The search of one candidate: space, budget, every trial and the chosen one."""

    model: str
    experiment: str = Field(description="Ray Tune experiment name (its folder in storage).")
    space: dict[str, str] = Field(description="Dotted config path -> distribution searched.")
    num_samples: int
    max_epochs: int
    trials: list[TrialRecord]
    chosen: str = Field(description="trial_id of the trial with the best validation loss.")
    restored: bool = Field(False, description="Whether the search resumed an earlier one.")
    report_path: str = Field("", description="JSON file of this record.")

    @property
    def chosen_trial(self) -> TrialRecord:
        """The record of the chosen trial."""
        return next(t for t in self.trials if t.trial_id == self.chosen)


class TrainResult(Ref):
    """Outcome of one Ray Train run."""

    model: str = Field("", description="Catalogue name of the trained model.")
    label: str = Field(
        "", description="The candidate's label (``model`` unless a compare entry names it)."
    )
    run_name: str
    checkpoint_uri: str = Field(description="Directory with the exported model (safetensors).")
    curves: dict[str, list[float]] = Field(default_factory=dict)
    train_seconds: float = 0.0
    seed: int | None = Field(None, description="train.seed the run was trained with.")
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted config settings this run used beyond the run config (a tuned choice).",
    )
    tuning: TuneResult | None = Field(None, description="The search that chose this run, if any.")

    @property
    def key(self) -> str:
        """``label``, or ``model`` for a run recorded without one."""
        return self.label or self.model


class TrainedCandidates(Ref):
    """The train stage's output: one run per candidate, the configured model first."""

    runs: list[TrainResult]
    skipped: dict[str, str] = Field(
        default_factory=dict,
        description="Models ``compare: auto`` chose but could not build or train -> why.",
    )
    twins: dict[str, str] = Field(
        default_factory=dict,
        description="Label of a text-fused candidate -> label of its no-text twin, compared "
        "on the same windows and seeds.",
    )

    @property
    def primary(self) -> TrainResult:
        """The run of ``model.name``."""
        return self.runs[0]

    def run_of(self, label: str) -> TrainResult:
        """The (first seed's) run of the candidate labelled ``label``.

        Raises:
            KeyError: no candidate of that label was trained.
        """
        for run in self.runs:
            if run.key == label:
                return run
        raise KeyError(f"no trained candidate {label!r}; trained: {[r.key for r in self.runs]}")


class EvalReport(Ref):
    """Metrics of the trained model and its baselines on the same test windows."""

    report_path: str
    test_windows: int
    metrics: dict[str, dict[str, float]] = Field(description="model name -> metric -> value")
    candidate: str = Field(
        description="The candidate to publish (``publish.select``), a key of ``metrics``."
    )
    validation: dict[str, float] = Field(
        default_factory=dict,
        description="Trained candidate -> validation loss, all on the same validation windows.",
    )
    selection_reason: str = Field("", description="Why ``candidate`` was chosen, with numbers.")
    leaderboard_path: str = ""
    plot_paths: list[str] = Field(default_factory=list)
    recommended_won: bool | None = Field(
        None,
        description="Whether the profile's recommended paradigm scored best; None if not trained.",
    )
    scorecard_paths: list[str] = Field(
        default_factory=list, description="scorecard.json, scorecard.md and scorecard.png."
    )
    files: dict[str, str] = Field(
        default_factory=dict,
        description="More files the published version carries, name -> path (an anomaly "
        "detector's detector.json: its thresholds tuned in evaluation).",
    )


class PublishedVersion(Ref):
    """A registry version: ``name:version``."""

    name: str
    version: int
    uri: str
    promoted_to: str | None = Field(None, description="Alias moved to this version, if any.")
    promotion_reason: str = Field("", description="Why the alias moved or stayed.")
    model: str = Field(
        "", description="Label of the published candidate (its catalogue name unless labelled)."
    )
    selection_reason: str = Field("", description="Why this candidate was published.")

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"
