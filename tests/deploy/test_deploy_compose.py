"""docker-compose.yml and the Dockerfile: the compose-spec schema, pinning, loopback, wiring.

The schema is the Compose Specification's own JSON Schema as vendored by the check-jsonschema
package (`check_jsonschema/builtin_schemas/vendor/compose-spec.json`), read at test time from
the installed package: no download.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
import shlex
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from tests.deploy.deploy_helpers import (
    COLLECTOR_CONFIG,
    COMPOSE_FILE,
    DATASOURCES_FILE,
    DOCKERFILE,
    PROMETHEUS_CONFIG,
    REPO,
    load_yaml,
)

COMPOSE = load_yaml(COMPOSE_FILE)
SERVICES: dict[str, Any] = COMPOSE["services"]
# The contrib collector image is FROM scratch: no shell or wget to run a healthcheck with.
NO_HEALTHCHECK = {"otel-collector"}


def _compose_errors(document: Any) -> list[str]:
    schema_text = (
        importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text(encoding="utf-8")
    )
    validator = jsonschema.Draft202012Validator(json.loads(schema_text))
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


def test_compose_file_matches_the_compose_spec_schema() -> None:
    """The Compose Specification's JSON Schema accepts docker-compose.yml."""
    assert _compose_errors(COMPOSE) == []


def test_compose_schema_rejects_a_misspelt_key() -> None:
    """The same schema rejects `healthcheck.intervall` (so the check above has teeth)."""
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["prometheus"]["healthcheck"]["intervall"] = "5s"
    errors = _compose_errors(broken)
    assert errors
    assert "services/prometheus/healthcheck: 'intervall' does not match" in errors[0]


def test_no_obsolete_version_key() -> None:
    """No top-level `version:` (obsolete in the Compose Specification)."""
    assert "version" not in COMPOSE


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_image_tag_pinned(name: str) -> None:
    """Every image names an exact version tag: never `latest`, never untagged."""
    image = SERVICES[name]["image"]
    repository, _, tag = image.rpartition(":")
    assert repository
    assert "/" not in tag
    assert tag != "latest"
    if "build" not in SERVICES[name]:
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{image}: pin an exact version"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_ports_bound_to_loopback(name: str) -> None:
    """Every published port listens on 127.0.0.1 only."""
    for port in SERVICES[name].get("ports", []):
        assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


@pytest.mark.parametrize("name", sorted(set(SERVICES) - NO_HEALTHCHECK))
def test_healthcheck(name: str) -> None:
    """Each service whose image can run a probe has a bounded healthcheck."""
    check = SERVICES[name]["healthcheck"]
    assert check["test"][0] == "CMD"
    assert {"interval", "timeout", "retries"} <= check.keys()


def test_collector_health_is_probed_from_outside() -> None:
    """The collector (no shell in its image) exposes health_check, which the demo probes."""
    extension = load_yaml(COLLECTOR_CONFIG)["extensions"]["health_check"]
    port = extension["endpoint"].rsplit(":", 1)[1]
    assert f"127.0.0.1:{port}:{port}" in SERVICES["otel-collector"]["ports"]
    assert f"http://otel-collector:{port}/" in " ".join(SERVICES["demo"]["healthcheck"]["test"])


def test_grafana_waits_for_healthy_backends() -> None:
    """Grafana starts once Prometheus and Jaeger report healthy."""
    depends = SERVICES["grafana"]["depends_on"]
    assert depends == {
        "prometheus": {"condition": "service_healthy"},
        "jaeger": {"condition": "service_healthy"},
    }


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_bind_mounts_exist(name: str) -> None:
    """Every file or folder the stack mounts exists in the repository."""
    for volume in SERVICES[name].get("volumes", []):
        source = volume.split(":")[0]
        assert source.startswith("./"), volume
        assert (REPO / source).exists(), volume


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def test_services_are_wired_to_each_other() -> None:
    """Demo -> collector -> Jaeger/Prometheus -> Grafana: every address names a real listener."""
    collector = load_yaml(COLLECTOR_CONFIG)
    env = SERVICES["demo"]["environment"]
    host, port = _host_port(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert host == "otel-collector"
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == f"0.0.0.0:{port}"

    jaeger_host, _ = _host_port(collector["exporters"]["otlp/jaeger"]["endpoint"])
    assert jaeger_host in SERVICES

    prometheus = load_yaml(PROMETHEUS_CONFIG)
    targets = {
        target
        for job in prometheus["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    exporter_port = collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    assert f"otel-collector:{exporter_port}" in targets
    internal = collector["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]
    assert f"otel-collector:{internal['prometheus']['port']}" in targets

    published = {
        name: {int(str(p).rsplit(":", 1)[1]) for p in s.get("ports", [])}
        for name, s in SERVICES.items()
    }
    for datasource in load_yaml(DATASOURCES_FILE)["datasources"]:
        host, port = _host_port(datasource["url"])
        assert host in SERVICES, datasource["name"]
        assert port in published[host], datasource["name"]


def test_demo_resource_gives_the_dashboard_labels() -> None:
    """The demo's service.name and deployment.environment.name become $service/$environment."""
    env = SERVICES["demo"]["environment"]
    assert env["OTEL_SERVICE_NAME"]
    assert "deployment.environment.name=" in env["OTEL_RESOURCE_ATTRIBUTES"]


def _dockerfile_cmd() -> list[str]:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    [cmd] = [line for line in lines if line.startswith("CMD ")]
    argv: list[str] = json.loads(cmd.removeprefix("CMD "))
    return argv


def test_dockerfile_runs_the_demo_forever() -> None:
    """The image runs `threadcrash demo --crashes 0 --interval $DEMO_INTERVAL` forever."""
    argv = _dockerfile_cmd()
    assert argv[:2] == ["sh", "-c"]
    words = shlex.split(argv[2])
    assert words == [
        "exec",
        "threadcrash",
        "demo",
        "--crashes",
        "0",
        "--interval",
        "${DEMO_INTERVAL}",
    ]
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "ENV " in text
    assert "DEMO_INTERVAL=" in text
    assert "DEMO_INTERVAL" in SERVICES["demo"]["environment"]
    base = re.search(r"^FROM (\S+)", text, re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base.group(1))


def test_dockerfile_command_is_accepted_by_the_cli() -> None:
    """The arguments the image passes parse with the real `threadcrash` command-line parser."""
    from threadcrash._cli import build_parser

    words = shlex.split(_dockerfile_cmd()[2])[1:]  # after `exec`
    assert words[0] == "threadcrash"
    args = build_parser().parse_args([w.replace("${DEMO_INTERVAL}", "2") for w in words[1:]])
    assert (args.command, args.crashes, args.interval) == ("demo", 0, 2.0)


def test_dockerfile_copies_only_what_exists_and_dockerignore_keeps_junk_out() -> None:
    """COPY sources exist; .git, virtualenvs and caches never reach the build context."""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), line
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", "venv", ".nox", "**/__pycache__"):
        assert entry in ignored
