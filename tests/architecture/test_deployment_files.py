"""docker/compose.yml and docker/compose.gpu.yml describe services that share nothing but the database, the broker
and the bucket (issue 20): read as YAML here, since the test machines have no `docker compose`."""

from __future__ import annotations

from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"
APP_SERVICES = ("migrate", "web", "worker", "beat")
S3_SETTINGS = ("ADE_REVIEW_S3_BUCKET", "ADE_REVIEW_S3_ENDPOINT_URL", "ADE_REVIEW_S3_ACCESS_KEY_ID",
               "ADE_REVIEW_S3_SECRET_ACCESS_KEY")


def _compose(name: str) -> dict:
    return yaml.safe_load((DOCKER / name).read_text(encoding="utf-8"))


def test_the_stack_has_an_object_store_and_no_volume_shared_between_app_services():
    compose = _compose("compose.yml")
    services = compose["services"]
    assert "objectstore" in services and "appdata" not in compose["volumes"]
    mounted: dict[str, list[str]] = {}
    for name in APP_SERVICES:
        service = services[name]
        assert all(service["environment"].get(key) for key in S3_SETTINGS), name
        assert "objectstore" in service["depends_on"], name
        for volume in service.get("volumes", []):
            mounted.setdefault(volume.split(":")[0], []).append(name)
    assert all(len(users) == 1 for users in mounted.values()), mounted  # each keeps only a cache of its own
    assert "storage_check --create-bucket" in " ".join(services["migrate"]["command"])


def test_the_gpu_file_adds_a_worker_on_the_gpu_queue_and_routes_model_tasks_there():
    gpu = _compose("compose.gpu.yml")["services"]
    worker = gpu["gpu-worker"]
    command = worker["command"]
    assert command[command.index("-Q") + 1] == "gpu"
    assert worker["extends"] == {"file": "compose.yml", "service": "worker"}
    assert worker["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    for name in ("web", "worker", "beat", "gpu-worker"):  # the queue is chosen where a task is sent
        assert gpu[name]["environment"]["ADE_REVIEW_MODEL_QUEUE"] == "gpu", name
    own = [v.split(":")[0] for v in worker["volumes"]]
    assert own == ["gpucache"] and "gpucache" in _compose("compose.gpu.yml")["volumes"]
