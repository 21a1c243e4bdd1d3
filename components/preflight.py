"""Checks of a run config against the catalogues, made when the config is loaded.

Field types and bounds are checked by :mod:`tsalign.components.config` alone (cheap, no torch).
Names that refer to registered things — ``model.name``, each ``compare`` entry, each
``eval.baselines`` entry and ``train.deepspeed_preset`` — are checked here, before any
stage runs, so a typo fails in seconds with nothing written instead of inside the train
stage after ingest and profile have rewritten their outputs.
"""

from __future__ import annotations

from tsalign.components.config import ConfigError, RunConfig


def catalogue_problems(cfg: RunConfig) -> list[str]:
    """Every reference in ``cfg`` to an unknown catalogue entry or unusable preset.

    Returns:
        One ``field: problem`` line per bad name (empty when all are valid).
    """
    # The catalogue is a torch-free table: this check takes milliseconds.
    from tsalign.components.models.catalogue import baseline_problem, list_models, unknown_model
    from tsalign.components.training.deepspeed_config import PresetError, check_preset

    known = list_models()
    problems = []
    named = [("model.name", cfg.model.name)]
    named += [(f"compare[{i}]", name) for i, name in enumerate(cfg.compare)]
    for field, name in named:
        if name not in known:
            problems.append(f"{field}: {unknown_model(name)} (see `tsalign models`)")
    for i, name in enumerate(cfg.eval.baselines):
        problem = baseline_problem(name)
        if problem is not None:
            problems.append(f"eval.baselines[{i}]: {problem}")
    try:
        # "auto" resolves to the cluster's device at launch; only the cpu rule waits for it.
        device = "cuda" if cfg.train.device == "auto" else cfg.train.device
        check_preset(cfg.train.deepspeed_preset, device)
    except PresetError as err:
        problems.append(str(err))
    return problems


def check_run_config(cfg: RunConfig, origin: str = "<config>") -> RunConfig:
    """Refuse a config naming unknown models, baselines or DeepSpeed presets.

    Returns:
        ``cfg`` unchanged, so loading can be written ``check_run_config(load_config(...))``.

    Raises:
        ConfigError: listing every bad name with the valid choices.
    """
    problems = catalogue_problems(cfg)
    if problems:
        raise ConfigError("\n".join(f"{origin}: {p}" for p in problems))
    return cfg
