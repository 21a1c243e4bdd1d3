"""compare entries: per-candidate settings, validated like every section, and `auto`."""

from __future__ import annotations

import pytest

from tsalign.components.config import ConfigError, RunConfig, build_config, load_config
from tsalign.components.models.catalogue import REPRESENTATIVES, auto_candidates, get_entry
from tsalign.components.training.candidates import plan_candidates


def _names(candidates) -> list[str]:
    return [c.model.name for c in candidates]


def test_an_entry_carries_its_own_train_and_model_settings():
    cfg = build_config(
        {
            "model": {"name": "gpt4ts", "params": {"patch_len": 12}},
            "train": {"lr": 0.001, "epochs": 3},
            "compare": [
                "gpt4ts_wo_llm",
                {"name": "dlinear", "train": {"lr": 0.005}},
                {"name": "patchtst", "model": {"params": {"d_model": 8}}},
            ],
        }
    )
    main, ablation, dlinear, patchtst = cfg.candidates()
    assert (main.train.lr, ablation.train.lr, dlinear.train.lr) == (0.001, 0.001, 0.005)
    assert dlinear.train.epochs == 3  # the run's train section fills what the entry leaves
    # Over the entry's defaults, with the parameters it reads from the main model section.
    assert (patchtst.model.params.d_model, patchtst.model.params.e_layers) == (8, 3)
    assert patchtst.model.params.patch_len == 12
    assert "d_model" not in type(main.model.params).model_fields  # gpt4ts has no d_model
    assert patchtst.train.lr == 0.001 and main.model.params.patch_len == 12


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "dlinear", "train": {"lrr": 0.1}}, r"compare\[0\]\.train\.lrr: remove it"),
        ({"name": "dlinear", "train": {"lr": 5}}, r"compare\[0\]\.train\.lr: Input should be"),
        ({"name": "dlinear", "model": {"d_modle": 8}}, r"compare\[0\]\.model\.d_modle: remove"),
        (
            {"name": "dlinear", "model": {"params": {"lora_r": 8}}},
            r"compare\[0\]\.model\.params: not a parameter of catalogue entry 'dlinear'",
        ),
        ({"name": "dlinear", "tain": {"lr": 0.1}}, r"compare\[0\]\.tain: remove it"),
        ({"name": "dlinear", "model": {"name": "patchtst"}}, r"differs from the entry's name"),
        ({"name": "dlinear", "train": {"max_val_windows": 8}}, r"train\.max_val_windows is shared"),
        ({"name": "dlinear", "train": {"seed": 7}}, r"train\.seed is shared by every candidate"),
        ({"name": "auto", "model": {"n_layers": 3}}, r"`auto` .* takes no model settings"),
    ],
)
def test_entry_settings_are_validated_with_their_path(entry: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        build_config({"compare": [entry]})


def test_a_model_is_given_settings_in_one_place():
    with pytest.raises(ConfigError, match=r"compare\[1\]: 'dlinear' is already an earlier entry"):
        build_config({"compare": ["dlinear", {"name": "dlinear", "train": {"lr": 0.1}}]})
    with pytest.raises(ConfigError, match=r"compare\[0\]: 'gpt4ts' is already model.name"):
        build_config({"compare": [{"name": "gpt4ts", "train": {"lr": 0.1}}]})
    # A bare repeat of model.name stays harmless, as before.
    assert _names(build_config({"compare": ["gpt4ts", "dlinear"]}).candidates()) == [
        "gpt4ts",
        "dlinear",
    ]


def _fused(compare: list, **eval_section) -> RunConfig:
    return build_config(
        {
            "data": {"text": {"sources": [{"source": "notes.csv"}]}},
            "model": {"name": "dlinear", "params": {"moving_avg": 13, "text_fusion": "add"}},
            "compare": compare,
            "eval": eval_section,
        }
    )


PLAIN_PATCHTST = {"name": "patchtst", "model": {"params": {"text_fusion": "none"}}}


def test_a_fused_candidate_gets_its_no_text_twin_right_after_it():
    main, twin, patchtst = _fused([PLAIN_PATCHTST]).candidates()
    assert [c.key for c in (main, twin, patchtst)] == ["dlinear", "dlinear_no_text", "patchtst"]
    assert (twin.model.name, twin.model.params.text_fusion, twin.twin_of) == (
        "dlinear", "none", "dlinear",
    )  # fmt: skip
    assert twin.model.params.moving_avg == 13 and twin.train == main.train  # only text differs
    assert patchtst.twin_of is None and main.twin_of is None
    assert [c.key for c in _fused([PLAIN_PATCHTST], text_twin=False).candidates()] == [
        "dlinear", "patchtst",
    ]  # fmt: skip
    # a compare entry takes model.params' text_fusion too, so it gets its own twin
    assert [c.key for c in _fused(["patchtst"]).candidates()][2:] == [
        "patchtst", "patchtst_no_text",
    ]  # fmt: skip


def test_a_labelled_entry_is_the_same_model_again_and_a_listed_twin_is_used():
    explicit = {"name": "dlinear", "label": "plain", "model": {"params": {"text_fusion": "none"}}}
    _, plain = _fused([explicit]).candidates()  # the listed twin, no automatic one
    assert (plain.key, plain.twin_of, plain.model.params.moving_avg) == ("plain", "dlinear", 13)
    cfg = _fused([explicit])
    assert build_config(cfg.model_dump(mode="json")) == cfg  # the label round-trips
    other = {"name": "dlinear", "label": "dlinear_no_text", "model": {"params": {"moving_avg": 5}}}
    with pytest.raises(ConfigError, match="'dlinear_no_text' names a candidate that is not"):
        _fused([other])
    with pytest.raises(ConfigError, match=r"compare\[1\]: 'plain' is already an earlier entry"):
        _fused([explicit, {"name": "patchtst", "label": "plain"}])
    with pytest.raises(ConfigError, match=r"compare\[0\]\.label"):
        _fused([{"name": "patchtst", "label": "no spaces"}])


def test_entries_override_from_the_command_line_and_round_trip():
    cfg = load_config(None, ["compare=[gpt4ts_wo_llm, {name: dlinear, train: {lr: 0.005}}]"])
    dumped = cfg.model_dump(mode="json")["compare"]
    assert dumped == ["gpt4ts_wo_llm", {"name": "dlinear", "train": {"lr": 0.005}}]
    assert build_config(cfg.model_dump(mode="json")) == cfg


# ---- compare: auto ----------------------------------------------------------------------------


def test_every_paradigm_has_a_representative_of_that_paradigm():
    for paradigm, name in REPRESENTATIVES.items():
        assert get_entry(name).paradigm == paradigm
    assert auto_candidates("internal") == ["gpt4ts", "gpt4ts_wo_llm"]
    assert auto_candidates("bridging") == ["timellm", "timellm_wo_llm"]
    assert auto_candidates("injective") == ["llmtime"]  # no LLM-free LLMTime exists


def test_auto_trains_the_recommended_representative_and_its_ablation_beside_model_name():
    cfg = build_config({"model": {"name": "gpt4ts"}, "compare": "auto"})
    planned = plan_candidates(cfg, "bridging")
    assert _names(planned) == ["gpt4ts", "timellm", "timellm_wo_llm"]
    assert [c.auto for c in planned] == [False, True, True]


def test_auto_never_repeats_a_model_listed_elsewhere():
    cfg = build_config(
        {"compare": ["auto", {"name": "gpt4ts_wo_llm", "train": {"lr": 0.002}}, "dlinear"]}
    )
    planned = plan_candidates(cfg, "internal")
    assert _names(planned) == ["gpt4ts", "gpt4ts_wo_llm", "dlinear"]
    assert planned[1].train.lr == 0.002 and not planned[1].auto


def test_auto_without_a_profile_says_what_to_run():
    with pytest.raises(ConfigError, match="run `tsalign profile` first"):
        plan_candidates(build_config({"compare": "auto"}), None)


def test_a_config_without_auto_plans_as_before():
    assert _names(plan_candidates(RunConfig(), None)) == ["gpt4ts", "gpt4ts_wo_llm"]


def test_preflight_accepts_auto_and_names_a_misspelt_entry():
    from tsalign.components.preflight import check_run_config

    check_run_config(build_config({"compare": ["auto", {"name": "dlinear"}]}))
    with pytest.raises(ConfigError, match=r"compare\[1\]: 'dlinaer' is not in the catalogue"):
        check_run_config(build_config({"compare": ["auto", {"name": "dlinaer"}]}))
