"""The tune stage's pieces that need no Ray: settings, budget, naming, trial inputs,
concurrency, the choice."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from tsalign.components.config import (
    ConfigError,
    ModelConfig,
    ProtocolConfig,
    RunConfig,
    TrainConfig,
    TuneConfig,
    apply_settings,
    build_config,
)
from tsalign.components.models import ModelSpec, get_entry
from tsalign.components.refs import DatasetRef, TrialRecord
from tsalign.components.training.tuning import (
    TrialSetup,
    TuningFailed,
    budget_config,
    check_builds,
    choose,
    experiment_name,
    index_model,
    trial_concurrency,
    trial_job,
    tune_candidate,
)

DATASET = DatasetRef(
    name="d",
    path="/data/d.parquet",
    meta_path="/data/d.meta.json",
    md5="a" * 32,
    remote="none",
    rows=10,
    channels=["x"],
    timestamp_col="ts",
    freq="h",
)
SPEC = ModelSpec(seq_len=48, horizon=6, n_channels=1, season=24, domain_context="")


def _trial(trial_id: str, val: float | None, error: str | None = None) -> TrialRecord:
    status = "error" if error else "finished"
    return TrialRecord(trial_id=trial_id, overrides={}, val_loss=val, status=status, error=error)


def test_settings_are_validated_like_a_loaded_config() -> None:
    cfg = apply_settings(RunConfig(), {"train.lr": 1e-5, "model.params.dropout": 0.3})
    assert (cfg.train.lr, cfg.model.params.dropout) == (1e-5, 0.3)
    with pytest.raises(ConfigError, match=r"train\.lr: Input should be less than or equal to 1"):
        apply_settings(RunConfig(), {"train.lr": 2.0})


def test_settings_leave_the_entry_defaults_of_unset_fields() -> None:
    # PatchTST/42's defaults (d_model 16, dropout 0.3) fill what the config leaves unset;
    # a tuned setting must change only its own field.
    cfg = apply_settings(
        RunConfig(model=ModelConfig(name="patchtst")), {"model.params.e_layers": 1}
    )
    params = cfg.model.params
    assert (params.e_layers, params.d_model, params.dropout) == (1, 16, 0.3)


def test_every_trial_gets_the_epoch_budget() -> None:
    base = budget_config(ModelConfig(), TrainConfig(epochs=50), TuneConfig(max_epochs=3))
    assert base.train.epochs == 3
    assert build_config(base.model_dump(mode="json", exclude_unset=True)).train.epochs == 3


def test_grace_period_beyond_the_budget_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"tune: .*grace_period \(5\) exceeds max_epochs \(2\)"):
        build_config({"tune": {"max_epochs": 2, "grace_period": 5}})


def test_experiment_name_is_stable_and_follows_what_the_search_depends_on() -> None:
    space = get_entry("dlinear").search_space
    base = RunConfig(model=ModelConfig(name="dlinear"))
    proto = ProtocolConfig()

    def name_of(dataset=DATASET, protocol=proto, dims=space, tune=None) -> str:
        return experiment_name(dataset, protocol, base, dims, tune or TuneConfig())

    name = name_of()
    assert name.startswith("tune-dlinear-")
    assert name_of() == name
    # Whether the pipeline runs the stage does not change the search itself.
    assert name_of(tune=TuneConfig(enabled=True)) == name
    assert name_of(tune=TuneConfig(seed=1)) != name
    assert name_of(dims=space[:1]) != name
    assert name_of(dataset=DATASET.model_copy(update={"md5": "b" * 32})) != name
    assert name_of(protocol=ProtocolConfig(window={"seq_len": 48, "horizon": 6})) != name


@pytest.mark.parametrize(
    ("workers", "device", "resources", "expected"),
    [
        (1, "cpu", {"CPU": 2.0}, 2),
        (2, "cpu", {"CPU": 2.0}, 1),
        (4, "cpu", {"CPU": 2.0}, 1),  # never 0: one trial waits for its workers
        (2, "cuda", {"CPU": 64.0, "GPU": 8.0}, 4),
    ],
)
def test_concurrency_follows_what_the_cluster_holds(workers, device, resources, expected):
    train = TrainConfig(num_workers=workers, device=device)
    assert trial_concurrency(TuneConfig(), train, resources) == expected


def test_configured_concurrency_wins() -> None:
    tune = TuneConfig(max_concurrent_trials=3)
    assert trial_concurrency(tune, TrainConfig(num_workers=2), {"CPU": 2.0}) == 3


def test_the_lowest_validation_loss_is_chosen() -> None:
    trials = [_trial("a", 0.5), _trial("b", None, "TrainingDiverged: x"), _trial("c", 0.2)]
    assert choose(trials, "exp").trial_id == "c"


def test_a_search_without_any_validation_loss_names_each_reason() -> None:
    trials = [_trial("a", None, "TrainingDiverged: loss is nan"), _trial("b", None)]
    with pytest.raises(TuningFailed, match=r"a: TrainingDiverged: loss is nan; b: no epoch"):
        choose(trials, "exp")


def test_experiment_name_follows_the_window_texts_and_the_index() -> None:
    # Another text file or index is another search: it must not restore this one.
    space = get_entry("retrieval_wo_llm").search_space
    base = RunConfig(model=ModelConfig(name="retrieval_wo_llm"))

    def name_of(text: str | None = None, index: str | None = None) -> str:
        return experiment_name(DATASET, ProtocolConfig(), base, space, TuneConfig(), text, index)

    plain = name_of()
    named = {
        plain,
        name_of(text="/w/text_cache/a.safetensors"),
        name_of(text="/w/text_cache/b.safetensors"),
        name_of(index="/w/retrieval_cache/index-a.safetensors"),
        name_of(index="/w/retrieval_cache/index-b.safetensors"),
    }
    assert len(named) == 5
    assert name_of(index="/w/retrieval_cache/index-a.safetensors") == name_of(
        index="/w/retrieval_cache/index-a.safetensors"
    )
    # a search without texts or index keeps the name it had before they were searched with
    assert experiment_name(DATASET, ProtocolConfig(), base, space, TuneConfig()) == plain


def test_every_trial_trains_with_the_search_texts_and_index() -> None:
    fused = ModelConfig(name="dlinear", params={"text_fusion": "add"})
    base = budget_config(fused, TrainConfig(), TuneConfig(max_epochs=2))
    setup = TrialSetup(
        dataset=DATASET,
        protocol=ProtocolConfig(),
        config=base.model_dump(mode="json", exclude_unset=True, include={"model", "train"}),
        spec=asdict(SPEC),
        experiment="tune-dlinear-x",
        text_path="/w/text_cache/texts.safetensors",
        retrieval_path="/w/retrieval_cache/index.safetensors",
    )
    # Tune hands the setup to each trial as plain JSON
    handed = TrialSetup.model_validate(setup.model_dump(mode="json"))
    job = trial_job(handed, {"model.params.moving_avg": 13, "train.lr": 1e-3}, "t1")
    assert (job.text_path, job.retrieval_path) == (setup.text_path, setup.retrieval_path)
    assert job.model.fuses_text and job.model.params.moving_avg == 13
    assert (job.train.lr, job.train.epochs, job.run_name) == (1e-3, 2, "tune-dlinear-x-t1")


def test_the_index_of_a_retrieval_search_holds_its_largest_k() -> None:
    # RETRIEVAL_SPACE samples k in (3, 5, 10): one index for k 10 serves every trial
    model = ModelConfig.model_validate({"name": "retrieval_wo_llm", "retrieval": {"k": 3}})
    widened = index_model(model)
    assert widened.retrieval.k == 10
    assert widened.retrieval.model_dump(exclude={"k"}) == model.retrieval.model_dump(exclude={"k"})
    assert model.retrieval.k == 3  # the candidate itself is left as it was
    beyond = ModelConfig.model_validate({"name": "retrieval_wo_llm", "retrieval": {"k": 20}})
    assert index_model(beyond).retrieval.k == 20
    plain = ModelConfig(name="dlinear")
    assert index_model(plain) is plain


def test_a_value_the_windows_cannot_take_is_refused_before_any_trial(tmp_path) -> None:
    # DLINEAR_SPACE offers moving_avg 13 or 25: a 24-step window cannot take the 25-step kernel
    short = ModelSpec(seq_len=24, horizon=6, n_channels=1, season=24, domain_context="")
    with pytest.raises(ConfigError, match=r"moving_avg=25 .*cannot take.*exceeds seq_len=24"):
        tune_candidate(
            DATASET,
            ProtocolConfig(),
            ModelConfig(name="dlinear", params={"moving_avg": 13}),
            TrainConfig(storage_path=str(tmp_path)),
            TuneConfig(),
            short,
            tmp_path,
        )
    base = budget_config(ModelConfig(name="dlinear"), TrainConfig(), TuneConfig())
    check_builds(base, get_entry("dlinear").search_space, SPEC)  # 48 steps take both kernels
