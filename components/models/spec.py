"""What the data says about a model's inputs and outputs.

A model never sees the whole run config: it is built from its own
``ModelConfig`` section plus this small frozen dataclass, which :func:`model_spec` fills
from the dataset metadata and the primitive profile, the same way for the training and
the evaluation stage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tsalign.components.config import WindowConfig
    from tsalign.components.refs import DatasetRef, ProfileRef

TASKS = ("forecast", "classify", "anomaly")

# Tan et al. (NeurIPS 2024) ablations: the LM removed or replaced; kind -> label.
ABLATIONS = {"wo_llm": "w/o LLM", "llm2attn": "LLM2Attn", "llm2trans": "LLM2Trans"}


class ModelBuildError(ValueError):
    """A model that cannot be built from this config/spec; the message names the field and fix."""


@dataclass(frozen=True)
class ModelSpec:
    """Shapes and context of the data a model is built for.

    Attributes:
        seq_len: Input (look-back) length in time steps.
        horizon: Forecast length in time steps (forecast task).
        n_channels: Channels C of the input ``[B, seq_len, C]``.
        task: ``forecast`` -> ``[B, horizon, C]``; ``classify`` -> logits ``[B, n_classes]``;
            ``anomaly`` -> ``[B, horizon, C]``, a forecaster whose errors score rows.
        n_classes: Number of classes (classify task only).
        season: Dominant period in time steps from the profile (seasonal naive, prompts).
        domain_context: Paragraph describing the data (Time-LLM prompt-as-prefix, LLMTime).
        text_dim: Width of the text embeddings a window carries (``data.text``); None when
            the data has no text.
        text_tokens: Text tokens (embedded texts) per window, the ``data.text.last`` cap.
        retrieval_rows: Rows of the training split a retrieval index holds (its series);
            0 without ``model.retrieval``.
        retrieval_windows: Training windows that index indexes.
    """

    seq_len: int
    horizon: int
    n_channels: int
    task: Literal["forecast", "classify", "anomaly"] = "forecast"
    n_classes: int | None = None
    season: int | None = None
    domain_context: str = ""
    text_dim: int | None = None
    text_tokens: int = 0
    retrieval_rows: int = 0
    retrieval_windows: int = 0

    def __post_init__(self) -> None:
        if self.seq_len < 2:
            raise ModelBuildError(f"ModelSpec.seq_len must be >= 2, got {self.seq_len}")
        if self.horizon < 1:
            raise ModelBuildError(f"ModelSpec.horizon must be >= 1, got {self.horizon}")
        if self.n_channels < 1:
            raise ModelBuildError(f"ModelSpec.n_channels must be >= 1, got {self.n_channels}")
        if self.task not in TASKS:
            raise ModelBuildError(f"ModelSpec.task {self.task!r} is not one of {list(TASKS)}")
        if self.task == "classify" and (self.n_classes is None or self.n_classes < 2):
            raise ModelBuildError(
                f"ModelSpec.n_classes must be >= 2 for task 'classify', got {self.n_classes}"
            )
        if self.season is not None and self.season < 1:
            raise ModelBuildError(
                f"ModelSpec.season must be >= 1 or None, got {self.season}; "
                "pass None when the profile found no period"
            )

        if self.text_dim is not None and (self.text_dim < 1 or self.text_tokens < 1):
            raise ModelBuildError(
                f"ModelSpec.text_dim={self.text_dim} and text_tokens={self.text_tokens} must "
                "both be >= 1 when the data has text"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (persisted in tsalign_model.json)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """Inverse of :meth:`to_dict`.

        Raises:
            ModelBuildError: unknown or missing keys.
        """
        known = set(cls.__dataclass_fields__)
        extra = set(data) - known
        if extra:
            raise ModelBuildError(
                f"ModelSpec: unknown keys {sorted(extra)}; valid: {sorted(known)}"
            )
        try:
            return cls(**data)
        except TypeError as err:
            raise ModelBuildError(f"ModelSpec: {err}") from None


def model_spec(
    dataset: DatasetRef,
    window: WindowConfig,
    profile: ProfileRef | None,
    season: int | None = None,
) -> ModelSpec:
    """The one ModelSpec of a run, made by the dataset's task (``tsalign.components.tasks``):
    training builds every candidate from it, evaluation its baselines, so both stages see
    the same shapes, classes, period and context.

    Raises:
        ModelBuildError: a spec out of range (see :class:`ModelSpec`).
        TaskNotWired: the dataset's task has no training seam yet.
    """
    from tsalign.components.tasks import get_task

    return get_task(dataset.task).model_spec(dataset, window, profile, season)


def forecast_spec(
    dataset: DatasetRef,
    window: WindowConfig,
    profile: ProfileRef | None,
    season: int | None = None,
) -> ModelSpec:
    """The forecasting spec: windows of ``seq_len`` steps, ``horizon`` ahead, every target
    channel; evaluation builds its baselines and MASE from it too.

    Args:
        dataset: the ingested dataset version (its targets give the channels, its
            description the context when there is no profile).
        window: the window protocol (``data.window``).
        profile: the primitive profile, when one was computed: its dominant period feeds
            seasonal baselines and MASE, its domain context the prompts.
        season: a seasonal period that overrides the profile's (``eval.season``).

    Raises:
        ModelBuildError: a spec out of range (see :class:`ModelSpec`).
    """
    from tsalign.components.data import load_meta  # pandas: imported only when a spec is made

    meta = load_meta(dataset.path)
    found = profile.dominant_period if profile else None
    return ModelSpec(
        seq_len=window.seq_len,
        horizon=window.horizon,
        n_channels=len(meta.targets),
        season=season or found,
        domain_context=(profile.domain_context if profile else "") or meta.description,
    )
