"""One redaction rule: secrets masked wherever config or metadata is kept, harmless keys untouched,
credentials in config URLs refused when the config is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tsalign.components.config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    RunConfig,
    load_config,
)
from tsalign.components.data.meta import DatasetMeta
from tsalign.components.models.params import LLMTimeParams
from tsalign.components.redaction import is_secret_key, redact, redact_text, url_credentials
from tsalign.components.refs import ProfileRef
from tsalign.components.state import latest, record, state_path
from tsalign.components.training.deepspeed_config import PresetError, load_preset

REPO = Path(__file__).resolve().parents[2]
BROKEN = REPO / "tests" / "fixtures" / "broken" / "configs"
CASES = yaml.safe_load((BROKEN / "cases.yaml").read_text())["cases"]
SECRET = "hunter2"


@pytest.mark.parametrize(
    "text",
    [
        "https://bob:hunter2@example.org/v1",
        "https://example.org/x.csv?X-Amz-Signature=hunter2&X-Amz-Date=1",
        "https://example.org/x.csv?a=1&token=hunter2",
        "https://example.org/x?sig=hunter2",
        "https://example.org/x?access_token=hunter2#frag",
        "db password=hunter2, host db1",
        "the password: hunter2",
        '{"api_key": "hunter2"}',
        "Authorization: Bearer hunter2hunter2",
        "aws_secret_access_key=hunter2",
        "clientSecret=hunter2",
        "https://maps.example.org/x.csv?key=hunter2",
    ],
)
def test_rule_masks_every_form(text: str) -> None:
    masked = redact_text(text)
    assert SECRET not in masked and "***" in masked


@pytest.mark.parametrize(
    "key", ["tokenizer", "prompt_tokens", "max_tokens", "api_key_env", "dvc_md5", "keys_total"]
)
def test_harmless_keys_are_not_secrets(key: str) -> None:
    assert not is_secret_key(key)
    assert redact({key: "minilm"}) == {key: "minilm"}


@pytest.mark.parametrize("config", [None, "configs/default.yaml", "configs/tiny.yaml"])
def test_a_stored_config_still_validates(config: str | None) -> None:
    # Time-LLM's prompt_tokens holds "token" but is no secret.
    timellm = ["model.name=timellm", "model.params.prompt_tokens=64"]
    cfg = load_config(None if config is None else REPO / config, timellm)
    stored = redact(cfg.model_dump(mode="json"))
    assert stored["profile"]["tokenizer"] == cfg.profile.tokenizer
    assert stored["model"]["params"]["prompt_tokens"] == cfg.model.params.prompt_tokens == 64
    assert RunConfig.model_validate(stored) == cfg


def test_free_text_is_masked_when_the_config_is_validated() -> None:
    cfg = load_config(None, [f"data.description=meter db password={SECRET} (kWh)"])
    assert cfg.data.description == "meter db password=*** (kWh)"
    # What Prefect stores as the flow-run parameter is this dump: no secret left in it.
    assert SECRET not in json.dumps(cfg.model_dump(mode="json"))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_broken_configs_are_refused_without_repeating_the_secret(case: dict) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(BROKEN / case["file"])
    message = str(caught.value)
    assert case["file"] in message
    for word in case["expect"]:
        assert word in message, f"{word!r} not in {message}"
    if "secret" in case:
        assert case["secret"] not in message


@pytest.mark.parametrize(
    "field",
    [
        "data.source",
        "data.endpoint_url",
        "model.backbone",
        "model.params.endpoint_url",
        "train.storage_path",
        "train.ray_address",
        "registry.uri",
        "registry.endpoint_url",
    ],
)
def test_every_location_field_refuses_credentials(field: str) -> None:
    entry = ["model.name=llmtime"] if field.startswith("model.params.") else []
    with pytest.raises(ConfigError, match=f"{field}: .*user:password@") as caught:
        load_config(None, [*entry, f"{field}=https://bob:{SECRET}@example.org/x"])
    assert SECRET not in str(caught.value)
    assert url_credentials("s3://bucket/prefix") is None
    load_config(None, [*entry, f"{field}=s3://bucket/prefix"])  # a plain location still loads


def test_api_key_env_pattern() -> None:
    assert LLMTimeParams(api_key_env="TSALIGN_VLLM_API_KEY").api_key_env == "TSALIGN_VLLM_API_KEY"
    for name in ["AWS_SECRET_ACCESS_KEY", "HOME", "OPENAI_API_KEY", "TSALIGN_API_KEY_FILE"]:
        with pytest.raises(ValueError, match="TSALIGN_<NAME>_API_KEY"):
            LLMTimeParams(api_key_env=name)


def test_presets_load_by_name_only(tmp_path: Path) -> None:
    (tmp_path / "evil.json").write_text("{}")
    relative = Path("..") / ".." / ".." / ".." / tmp_path.relative_to("/") / "evil"
    with pytest.raises(PresetError, match="choose one of"):
        load_preset(str(relative))
    assert load_preset("zero2")["zero_optimization"]["stage"] == 2


def test_dataset_meta_masks_its_free_text() -> None:
    meta = DatasetMeta(
        name="t",
        source=f"https://bob:{SECRET}@example.org/x.csv",
        description=f"token={SECRET}",
        channels=["y"],
        targets=["y"],
        freq="h",
        rows=1,
        start="",
        end="",
    )
    assert SECRET not in meta.model_dump_json()


def test_state_json_is_masked_and_still_loads(tmp_path: Path) -> None:
    ref = ProfileRef(
        profile_path="outputs/t/profile.json",
        report_path="outputs/t/report.md",
        domain_context=f"Meter data; db password={SECRET}.",
    )
    record(tmp_path, "t", ref)
    assert SECRET not in state_path(tmp_path, "t").read_text()
    assert latest(tmp_path, "t", ProfileRef).domain_context == "Meter data; db password=***"


def test_legacy_export_with_the_old_default_key_env_still_loads() -> None:
    from tsalign.components.models.persistence import _migrate_config

    # An llmtime export of the former flat shape, with the former default key variable.
    former = {"name": "llmtime", "patch_len": 16, "injective": {"api_key_env": "OPENAI_API_KEY"}}
    loaded = ModelConfig.model_validate(_migrate_config(former))
    assert loaded.params.api_key_env == "TSALIGN_LLM_API_KEY"


@pytest.mark.parametrize(
    "text",
    [
        "tokens per value: 3",
        "partition key: region",
        "s3://lake/events/key=2024/part-0.parquet",
        "tokenizer=minilm, prompt_tokens=64",
    ],
)
def test_harmless_free_text_is_untouched(text: str) -> None:
    assert DataConfig(description=text).description == text


def test_registry_version_keeps_no_secret(tmp_path: Path) -> None:
    from tsalign.components.config import RegistryConfig
    from tsalign.components.registry import ModelCardInfo, open_registry

    reg = open_registry(RegistryConfig(uri=str(tmp_path / "reg")))
    (tmp_path / "w").write_text("weights")
    reg.publish(
        "demo",
        {"w": tmp_path / "w"},
        config={"data": {"description": f"password={SECRET}"}, "profile": {"tokenizer": "minilm"}},
        metrics={},
        lineage={"source": f"https://bob:{SECRET}@example.org/x.csv"},
        description=f"token={SECRET}",
        tags={"note": f"sig={SECRET}"},
        card=ModelCardInfo(summary=f"Authorization: Bearer {SECRET}{SECRET}"),
    )
    stored = b"".join(p.read_bytes() for p in (tmp_path / "reg").rglob("*") if p.is_file())
    assert SECRET.encode() not in stored
    assert reg.show("demo:1").config["profile"]["tokenizer"] == "minilm"
