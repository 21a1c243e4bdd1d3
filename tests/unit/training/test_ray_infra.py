"""infra/ray: the `ray up` config validates against Ray's autoscaler schema, and the KubeRay
RayJob has the structure the RayJob CRD (ray.io/v1) requires; both run a shipped config."""

from __future__ import annotations

import copy
import re
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

from tsalign.components.config import load_config

REPO = Path(__file__).resolve().parents[3]
CLUSTER = REPO / "infra" / "ray" / "cluster.yaml"
RAYJOB = REPO / "infra" / "ray" / "rayjob.yaml"
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _validate_cluster(config: dict) -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))  # JSON schema + Ray's own checks


def test_cluster_yaml_validates_against_ray_schema():
    config = yaml.safe_load(CLUSTER.read_text())
    _validate_cluster(config)
    workers = config["available_node_types"]["gpu_worker"]
    assert workers["resources"]["GPU"] >= 1
    assert config["head_node_type"] in config["available_node_types"]


def test_cluster_schema_check_catches_a_broken_config():
    config = yaml.safe_load(CLUSTER.read_text())
    config["available_node_types"]["gpu_worker"]["resources"]["GPU"] = -1
    with pytest.raises(jsonschema.ValidationError):
        _validate_cluster(config)


def _check_pod_template(template: dict, where: str) -> list[dict]:
    containers = template["spec"]["containers"]
    assert containers, f"{where}: no containers"
    for c in containers:
        assert DNS1123.match(c["name"]), f"{where}: container name {c['name']!r}"
        assert isinstance(c["image"], str) and c["image"], f"{where}: image"
    return containers


def check_rayjob(job: dict) -> None:
    """The fields the ray.io/v1 RayJob CRD requires, with their types."""
    assert job["apiVersion"] == "ray.io/v1"
    assert job["kind"] == "RayJob"
    assert DNS1123.match(job["metadata"]["name"])
    spec = job["spec"]
    assert isinstance(spec["entrypoint"], str) and spec["entrypoint"].strip()
    assert spec.get("submissionMode", "K8sJobMode") in {"K8sJobMode", "HTTPMode", "InteractiveMode"}
    yaml.safe_load(spec.get("runtimeEnvYAML", "{}"))  # must itself be YAML
    cluster = spec["rayClusterSpec"]
    head = cluster["headGroupSpec"]
    for params in [head.get("rayStartParams", {})] + [
        g.get("rayStartParams", {}) for g in cluster.get("workerGroupSpecs", [])
    ]:
        # map[string]string in the CRD: an unquoted number fails `kubectl apply`.
        assert all(isinstance(v, str) for v in params.values()), params
    _check_pod_template(head["template"], "headGroupSpec")
    for group in cluster["workerGroupSpecs"]:
        assert DNS1123.match(group["groupName"])
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        containers = _check_pod_template(group["template"], group["groupName"])
        gpus = containers[0]["resources"]["limits"].get("nvidia.com/gpu")
        if "num-gpus" in group["rayStartParams"]:
            assert gpus == group["rayStartParams"]["num-gpus"], "Ray and Kubernetes GPU counts"


def test_rayjob_has_the_crd_structure_and_gpu_workers():
    job = yaml.safe_load(RAYJOB.read_text())
    check_rayjob(job)
    groups = job["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    assert any(g["rayStartParams"].get("num-gpus") == "1" for g in groups)


def test_rayjob_check_catches_a_broken_manifest():
    job = yaml.safe_load(RAYJOB.read_text())
    job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["rayStartParams"]["num-gpus"] = 1
    with pytest.raises(AssertionError):
        check_rayjob(job)
    del job["spec"]["entrypoint"]
    with pytest.raises(KeyError):
        check_rayjob(job)


@pytest.mark.parametrize("manifest", [RAYJOB])
def test_rayjob_entrypoint_runs_a_valid_shipped_config(manifest: Path):
    args = shlex.split(yaml.safe_load(manifest.read_text())["spec"]["entrypoint"])
    assert args[:2] == ["tsalign", "train"]
    config = args[args.index("--config") + 1]
    overrides = [a for a in args[args.index("--config") + 2 :] if "=" in a]
    cfg = load_config(REPO / config, overrides)
    assert cfg.train.device == "cuda" and cfg.train.deepspeed_preset == "zero2"


def test_cluster_yaml_turns_token_auth_on_and_keeps_the_dashboard_on_loopback():
    config = yaml.safe_load(CLUSTER.read_text())
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        start = [c for c in config[key] if "ray start" in c]
        assert start and all("RAY_AUTH_MODE=token" in c for c in start), key
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    # The token reaches the nodes from the operator's machine, never from this file.
    assert config["file_mounts"] == {"~/.ray/auth_token": "~/.ray/auth_token"}
    assert "disabled" not in CLUSTER.read_text()


def test_rayjob_turns_token_auth_on():
    job = yaml.safe_load(RAYJOB.read_text())
    assert job["spec"]["rayClusterSpec"]["authOptions"] == {"mode": "token"}
    assert "RAY_AUTH_MODE" not in job["spec"].get("runtimeEnvYAML", "")
    assert "disabled" not in RAYJOB.read_text()


def test_only_the_loopback_scripts_disable_ray_auth():
    hits = sorted(
        str(p.relative_to(REPO))
        for folder in ("infra", "flows", "components")
        for p in (REPO / folder).rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".sh", ".yaml"}
        and "RAY_AUTH_MODE" in p.read_text()
        and "disabled" in p.read_text()
    )
    assert hits == ["flows/cli/cluster.py", "infra/local/ray-cluster-start.sh"]
    start = (REPO / "infra" / "local" / "ray-cluster-start.sh").read_text()
    assert "--dashboard-host=127.0.0.1" in start and "--node-ip-address=127.0.0.1" in start
