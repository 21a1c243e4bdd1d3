"""The one catalogue of models: a name -> entry table that configs refer to.

Each entry is declared once, in :data:`ENTRIES`, with its tasks, paradigm and summary,
the import path of its builder and its own parameter model (``model.params``, see
:mod:`tsalign.components.models.params`). The table imports no torch, so a config can be
checked against it in milliseconds; a builder's module (and torch) is imported only
when that model is built. A duplicate or an unknown name is an error listing the valid
names. YAML configs (and the Prefect UI) only ever name entries here, never import paths.
"""

from __future__ import annotations

import difflib
import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from tsalign.components.excerpt import quote
from tsalign.components.models.params import (
    CALFMatchParams,
    CALFParams,
    DLinearParams,
    GPT4TSParams,
    LLMTimeParams,
    LoraParams,
    Params,
    PatchModelParams,
    PatchTSTCompactParams,
    PatchTSTParams,
    TESTParams,
    TimeLLMParams,
)
from tsalign.components.models.search_space import (
    LM_DEPTH,
    OPTIMISATION,
    PATCHED,
    Choice,
    SearchSpace,
    Uniform,
    check_dimensions,
)
from tsalign.components.models.spec import ABLATIONS, TASKS, ModelBuildError, ModelSpec

if TYPE_CHECKING:
    from torch import nn

    from tsalign.components.config import ModelConfig

    Builder = Callable[[ModelConfig, ModelSpec], nn.Module]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One catalogue entry: where its builder lives, the tasks it supports and a summary.

    Attributes:
        name: Catalogue name configs use (``model.name``).
        builder_path: ``module:function`` building ``(cfg, spec) -> nn.Module``; imported
            only when the model is built.
        tasks: Tasks the builder supports (subset of forecast/classify/anomaly).
        paradigm: injective, bridging, internal, baseline or ablation.
        summary: One line shown by ``tsalign models``.
        ablation_of: For an ablation, the catalogue entry whose LM it removes or replaces.
        ablation: For an ablation, its kind (a key of ``ABLATIONS``), passed to the builder.
        trainable: False for models with nothing to fit (naive baselines, a frozen LM
            prompted as is); the train stage exports them as built.
        params: The entry's parameter model: ``model.params`` is validated against it, and
            its defaults are the entry's published setting.
        variant_of: For a variant of another LLM entry (gpt4ts_lora of gpt4ts), that entry:
            its LLM-free ablations are this one's too.
        freeze: The freezing policy the builder always applies (gpt4ts_lora: ``lora``);
            None when ``model.freeze`` chooses it.
        search_space: What the tune stage searches for this entry (dotted config paths);
            an ablation searches the space of the entry it ablates, so both get the same
            search. Empty for entries with nothing to train.
        retrieval_embed: For an entry that is a forecaster with retrieval (``retrieval``,
            ``retrieval_wo_llm``), the embedding it retrieves by (``model.retrieval.embed``,
            which the entry fixes); None for the others, which retrieve only when
            ``model.retrieval`` is set.
    """

    name: str
    builder_path: str
    paradigm: str
    summary: str
    tasks: tuple[str, ...] = ("forecast",)
    ablation_of: str | None = None
    ablation: str | None = None
    trainable: bool = True
    params: type[Params] = Params
    variant_of: str | None = None
    freeze: str | None = None
    search_space: SearchSpace = ()
    retrieval_embed: str | None = None

    def __post_init__(self) -> None:
        check_dimensions(self.name, self.search_space)

    @property
    def builder(self) -> Builder:
        """The builder function, importing its module (and torch) on first use."""
        module, _, attr = self.builder_path.partition(":")
        build = getattr(importlib.import_module(module), attr)
        return build if self.ablation is None else partial(build, kind=self.ablation)


def _ablations(
    of: str,
    label: str,
    builder_path: str,
    tasks: tuple[str, ...],
    params: type[Params],
    space: SearchSpace,
) -> list[Entry]:
    """One entry per Tan et al. (NeurIPS 2024) ablation of the LLM entry ``of``, searched
    over the same ``space`` as ``of``."""
    return [
        Entry(
            f"{of}_{kind}",
            builder_path,
            paradigm="ablation",
            summary=f"{label} ablation {text} (Tan et al. 2024)",
            tasks=tasks,
            ablation_of=of,
            ablation=kind,
            params=params,
            search_space=space,
        )
        for kind, text in ABLATIONS.items()
    ]


FORECASTERS = ("forecast", "anomaly")
"""Tasks of an entry whose only head forecasts: an anomaly detector scores by forecast error."""

DLINEAR_SPACE: SearchSpace = (*OPTIMISATION, Choice("model.params.moving_avg", (13, 25)))
PATCHTST_SPACE: SearchSpace = (
    *OPTIMISATION,
    *PATCHED,
    Choice("model.params.e_layers", (1, 2, 3)),
)
TIMELLM_SPACE: SearchSpace = (*OPTIMISATION, *PATCHED)
GPT4TS_SPACE: SearchSpace = (*OPTIMISATION, *PATCHED, *LM_DEPTH)
GPT4TS_LORA_SPACE: SearchSpace = (*GPT4TS_SPACE, Choice("model.params.lora_r", (4, 8, 16)))
RETRIEVAL_SPACE: SearchSpace = (
    *DLINEAR_SPACE,
    Choice("model.retrieval.k", (3, 5, 10)),
    Choice("model.retrieval.fusion", ("concat", "attention")),
)
CALF_SPACE: SearchSpace = (
    *OPTIMISATION,
    *LM_DEPTH,
    Uniform("model.params.dropout", 0.0, 0.5),
    Choice("model.params.feature_weight", (0.0, 0.01, 0.1)),
)
TEST_SPACE: SearchSpace = (
    *OPTIMISATION,
    *PATCHED,
    Choice("model.params.prompt_tokens", (5, 10, 20)),
)

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "naive",
        "tsalign.components.models.baselines:build_naive",
        paradigm="baseline",
        summary="Last observed value repeated (no parameters)",
        trainable=False,
    ),
    Entry(
        "seasonal_naive",
        "tsalign.components.models.baselines:build_seasonal_naive",
        paradigm="baseline",
        summary="Last observed season repeated; period from the profile (ModelSpec.season)",
        trainable=False,
    ),
    Entry(
        "dlinear",
        "tsalign.components.models.baselines:build_dlinear",
        paradigm="baseline",
        summary="DLinear: trend/seasonal decomposition + two linear maps (Zeng et al. 2023)",
        params=DLinearParams,
        search_space=DLINEAR_SPACE,
    ),
    Entry(
        "patchtst",
        "tsalign.components.models.baselines:build_patchtst",
        paradigm="baseline",
        summary="PatchTST/42 supervised patch transformer, the paper's ETTh1 setting "
        "(Nie et al. 2023: d_model 16, 3 layers, 4 heads, dropout 0.3)",
        tasks=TASKS,
        params=PatchTSTParams,
        search_space=PATCHTST_SPACE,
    ),
    Entry(
        "patchtst_compact",
        "tsalign.components.models.baselines:build_patchtst",
        paradigm="baseline",
        summary="PatchTST compact variant (d_model 64, 2 layers, dropout 0.1); not the paper's setting",
        tasks=TASKS,
        params=PatchTSTCompactParams,
        search_space=PATCHTST_SPACE,
    ),
    Entry(
        "timellm",
        "tsalign.components.models.bridging:build_timellm",
        paradigm="bridging",
        summary="Time-LLM: reprogramming to text prototypes + prompt-as-prefix, frozen LM",
        tasks=FORECASTERS,
        params=TimeLLMParams,
        search_space=TIMELLM_SPACE,
    ),
    *_ablations(
        "timellm",
        "Time-LLM",
        "tsalign.components.models.bridging:build_timellm_ablation",
        FORECASTERS,
        TimeLLMParams,
        TIMELLM_SPACE,
    ),
    Entry(
        "llmtime",
        "tsalign.components.models.injective:build_llmtime",
        paradigm="injective",
        summary="LLMTime: serialized digits continued by a frozen causal LM (local or endpoint)",
        trainable=False,
        params=LLMTimeParams,
    ),
    Entry(
        "gpt4ts",
        "tsalign.components.models.internal:build_gpt4ts",
        paradigm="internal",
        summary="GPT4TS: patches into a pretrained LM, LN + position embeddings tuned "
        "(model.freeze selects the policy)",
        tasks=TASKS,
        params=GPT4TSParams,
        search_space=GPT4TS_SPACE,
    ),
    Entry(
        "gpt4ts_lora",
        "tsalign.components.models.internal:build_gpt4ts_lora",
        paradigm="internal",
        summary="GPT4TS with PEFT LoRA adapters on the LM attention (base frozen)",
        tasks=TASKS,
        params=GPT4TSParams,
        variant_of="gpt4ts",
        freeze="lora",
        search_space=GPT4TS_LORA_SPACE,
    ),
    *_ablations(
        "gpt4ts",
        "GPT4TS",
        "tsalign.components.models.internal:build_gpt4ts_ablation",
        TASKS,
        PatchModelParams,
        GPT4TS_SPACE,
    ),
    Entry(
        "retrieval",
        "tsalign.components.models.retrieval:build_retrieval",
        paradigm="bridging",
        summary="Retrieval-augmented DLinear: the k training windows nearest in the frozen LM's "
        "embedding, and what followed them, fused into the forecast (model.retrieval)",
        params=DLinearParams,
        search_space=RETRIEVAL_SPACE,
        retrieval_embed="lm",
    ),
    Entry(
        "retrieval_wo_llm",
        "tsalign.components.models.retrieval:build_retrieval_ablation",
        paradigm="ablation",
        summary="Retrieval ablation w/o LLM: neighbours found on the raw z-normalised windows "
        "(Tan et al. 2024)",
        ablation_of="retrieval",
        ablation="wo_llm",
        params=DLinearParams,
        search_space=RETRIEVAL_SPACE,
        retrieval_embed="raw",
    ),
    Entry(
        "calf",
        "tsalign.components.models.distillation:build_calf",
        paradigm="internal",
        summary="CALF: cross-modal distillation, a LoRA temporal branch taught by a textual "
        "branch matched to the word embeddings' principal components (Liu et al. AAAI 2025)",
        params=CALFParams,
        freeze="lora",
        search_space=CALF_SPACE,
    ),
    *_ablations(
        "calf",
        "CALF",
        "tsalign.components.models.distillation:build_calf_ablation",
        ("forecast",),
        CALFMatchParams,
        CALF_SPACE,
    ),
    Entry(
        "test_align",
        "tsalign.components.models.contrastive:build_test",
        paradigm="bridging",
        summary="TEST: a patch encoder pre-trained by contrast and aligned to text prototypes, "
        "soft prompts into the frozen LM (Sun et al. ICLR 2024)",
        params=TESTParams,
        search_space=TEST_SPACE,
    ),
    *_ablations(
        "test_align",
        "TEST",
        "tsalign.components.models.contrastive:build_test_ablation",
        ("forecast",),
        TESTParams,
        TEST_SPACE,
    ),
)


REPRESENTATIVES: dict[str, str] = {
    "injective": "llmtime",
    "bridging": "timellm",
    "internal": "gpt4ts",
}
"""The model ``compare: auto`` trains for each paradigm the profile can recommend."""


def index_entries(entries: Iterable[Entry]) -> dict[str, Entry]:
    """The name -> entry map of ``entries``.

    Raises:
        ValueError: a duplicate name, an unknown task or a parameter model that is not a
            :class:`Params`.
    """
    catalogue: dict[str, Entry] = {}
    for entry in entries:
        if not (isinstance(entry.params, type) and issubclass(entry.params, Params)):
            raise ValueError(
                f"entry {entry.name!r}: params must be a Params subclass from "
                f"tsalign.components.models.params, got {entry.params!r}"
            )
        bad = [t for t in entry.tasks if t not in TASKS]
        if bad:
            raise ValueError(f"entry {entry.name!r}: unknown tasks {bad}; valid: {list(TASKS)}")
        if entry.name in catalogue:
            raise ValueError(
                f"model {entry.name!r} is declared twice (builders "
                f"{catalogue[entry.name].builder_path} and {entry.builder_path}); "
                f"pick another name. Declared: {sorted(catalogue)}"
            )
        catalogue[entry.name] = entry
    return catalogue


_CATALOGUE: dict[str, Entry] = index_entries(ENTRIES)


def list_models() -> list[str]:
    """Catalogue names, sorted."""
    return sorted(_CATALOGUE)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the choice closest to ``name``, or ``""`` when none is close."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_model(name: str) -> str:
    """Why ``name`` is not a model: the closest catalogue name and every valid one."""
    return (
        f"{quote(name)} is not in the catalogue{did_you_mean(name, _CATALOGUE)}; "
        f"valid names: {list_models()}"
    )


def params_model(name: str) -> type[Params] | None:
    """The parameter model catalogue entry ``name`` registers; None for an unknown name."""
    entry = _CATALOGUE.get(name)
    return None if entry is None else entry.params


def retrieval_embed(name: str) -> str | None:
    """The embedding entry ``name`` fixes for its retrieval; None when it has no retrieval
    of its own (or is not an entry)."""
    entry = _CATALOGUE.get(name)
    return None if entry is None else entry.retrieval_embed


def is_trainable(name: str) -> bool:
    """Whether entry ``name`` has parameters to fit (False for unknown names too)."""
    entry = _CATALOGUE.get(name)
    return entry is not None and entry.trainable


def lora_applies(name: str, freeze: str) -> bool:
    """Whether entry ``name`` wraps its LM with LoRA when ``model.freeze`` is ``freeze``."""
    entry = _CATALOGUE.get(name)
    if entry is None or not issubclass(entry.params, LoraParams):
        return False
    return (entry.freeze or freeze) == "lora"


def entry_fields(name: str) -> str:
    """What ``model.params`` of entry ``name`` may set, for error messages."""
    fields = sorted(_CATALOGUE[name].params.model_fields)
    if not fields:
        return f"{name!r} takes no parameters: remove model.params"
    return f"valid fields of {name!r}: {', '.join(fields)}"


def not_a_parameter(name: str, keys: list[str]) -> str:
    """Why ``keys`` cannot be parameters of entry ``name``: the closest valid field or the
    entries that do read each key, then every valid field."""
    fields = _CATALOGUE[name].params.model_fields
    clauses = []
    for key in keys:
        hint = did_you_mean(key, fields)
        readers = [n for n, e in sorted(_CATALOGUE.items()) if key in e.params.model_fields]
        if not hint and readers:
            shown = ", ".join(readers[:4]) + (", ..." if len(readers) > 4 else "")
            hint = f" (read by {shown})"
        clauses.append(f"{quote(key)}{hint}")
    return (
        f"not a parameter of catalogue entry {name!r}: {', '.join(clauses)}; {entry_fields(name)}"
    )


def get_entry(name: str) -> Entry:
    """The catalogue entry for ``name``.

    Raises:
        ModelBuildError: unknown name, naming the closest and the valid ones.
    """
    try:
        return _CATALOGUE[name]
    except KeyError:
        raise ModelBuildError(f"model.name {unknown_model(name)}") from None


def ablations_of(name: str) -> list[str]:
    """The LLM-free ablations of ``name`` (of the entry it is a variant of); [] for others."""
    entry = get_entry(name)
    base = entry.variant_of or name
    return [e.name for e in _CATALOGUE.values() if e.ablation_of == base]


def auto_candidates(paradigm: str) -> list[str]:
    """What ``compare: auto`` trains for ``paradigm``: its representative, then the
    representative's LLM-free ablation (Tan et al. 2024) when the catalogue has one.

    Raises:
        ValueError: ``paradigm`` is not one the profile recommends.
    """
    if paradigm not in REPRESENTATIVES:
        raise ValueError(
            f"no representative model for paradigm {paradigm!r}; known: {sorted(REPRESENTATIVES)}"
        )
    representative = REPRESENTATIVES[paradigm]
    ablations = [
        e.name for e in ENTRIES if e.ablation_of == representative and e.ablation == "wo_llm"
    ]
    return [representative, *ablations]


def paradigm_models(paradigm: str) -> list[str]:
    """The catalogue's methods of ``paradigm`` (no ablations), in declaration order."""
    return [e.name for e in ENTRIES if e.paradigm == paradigm and e.ablation_of is None]


def baseline_problem(name: str) -> str | None:
    """Why ``name`` cannot be an evaluation baseline, or None when it can.

    Baselines are scored as built, so they must be catalogue entries with nothing to train.
    """
    entry = _CATALOGUE.get(name)
    if entry is None:
        valid = baseline_names()
        return (
            f"{quote(name)} is not in the catalogue{did_you_mean(name, valid)}; "
            f"valid baselines: {valid}"
        )
    if entry.trainable:
        return (
            f"{name!r} has parameters to train and would be scored with random weights; "
            f"move it to compare: [{name}] so it is trained beside the candidate"
        )
    return None


def baseline_names() -> list[str]:
    """Catalogue entries with nothing to train (valid ``eval.baselines``)."""
    return [n for n in list_models() if not _CATALOGUE[n].trainable]


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """Return ``(trainable, total)`` parameter counts (shared tensors counted once)."""
    seen: set[int] = set()
    trainable = total = 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


def build_model(cfg: ModelConfig, spec: ModelSpec) -> nn.Module:
    """Build the catalogue entry ``cfg.name`` for data described by ``spec``.

    Args:
        cfg: The model section of the run config.
        spec: Shapes, task and context of the data.

    Returns:
        The module; forecasting models map ``[B, seq_len, C] -> [B, horizon, C]``
        on the standardised scale.

    Raises:
        ModelBuildError: unknown name, unsupported task, or an invalid field (named).
    """
    entry = get_entry(cfg.name)
    if spec.task not in entry.tasks:
        supporting = [n for n, e in sorted(_CATALOGUE.items()) if spec.task in e.tasks]
        raise ModelBuildError(
            f"model.name {cfg.name!r} supports tasks {list(entry.tasks)}, not {spec.task!r}; "
            f"models for {spec.task!r}: {supporting}"
        )
    model = entry.builder(cfg, spec)
    if getattr(cfg.params, "text_fusion", "none") != "none":
        from tsalign.components.models.fusion import with_text  # torch: only when building

        model = with_text(model, cfg.name, cfg.params, spec)
    if cfg.retrieval is not None:
        from tsalign.components.models.retrieval import with_retrieval  # torch: when building

        model = with_retrieval(model, cfg, spec)
    trainable, total = count_parameters(model)
    log.info(
        "built %s (%s): %d trainable / %d total parameters",
        cfg.name,
        entry.paradigm,
        trainable,
        total,
    )
    return model
