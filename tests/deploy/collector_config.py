"""A focused validator for the OpenTelemetry Collector configs this repository ships.

No collector binary can run here (its releases are not in any registry these machines reach),
so `otelcol validate` is out of reach. Instead: a JSON Schema, written for this repository,
of the collector's config layout and of every component we use, with the fields of
collector-contrib 0.120.0 and `additionalProperties: false` so that a misspelt field fails;
then the checks the collector does at start-up: every component a pipeline names is defined,
every defined one is used, connectors join a pipeline of the right type on each side, and
`${env:NAME}` is the only substitution syntax. This is a schema check, not a run.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema

_ENDPOINT = {"type": "string", "pattern": r"^[^\s:]+:(\d+|\$\{env:[A-Z_]+\})$"}
_ENV_ENDPOINT = {"type": "string", "pattern": r"^(\$\{env:[A-Z_]+\}|[\w.-]+):\d+$"}
_TLS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"insecure": {"type": "boolean"}, "ca_file": {"type": "string"}},
}
_DURATION = {"type": "string", "pattern": r"^\d+(ms|s|m|h)$"}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": ["object", "null"] if not required else "object",
        "additionalProperties": False,
        "properties": properties,
        "required": list(required),
    }


_OTTL_LIST = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}

# Component type -> schema of its settings (only the components this repository uses).
RECEIVERS: dict[str, dict[str, Any]] = {
    "otlp": _obj(
        {
            "protocols": _obj(
                {
                    "grpc": _obj({"endpoint": _ENV_ENDPOINT}),
                    "http": _obj({"endpoint": _ENV_ENDPOINT}),
                },
            )
        },
        required=("protocols",),
    ),
}
PROCESSORS: dict[str, dict[str, Any]] = {
    "batch": _obj(
        {
            "timeout": _DURATION,
            "send_batch_size": {"type": "integer", "minimum": 1},
            "send_batch_max_size": {"type": "integer", "minimum": 0},
        }
    ),
    "memory_limiter": _obj(
        {
            "check_interval": _DURATION,
            "limit_percentage": {"type": "integer", "minimum": 1, "maximum": 100},
            "spike_limit_percentage": {"type": "integer", "minimum": 1, "maximum": 100},
            "limit_mib": {"type": "integer", "minimum": 1},
            "spike_limit_mib": {"type": "integer", "minimum": 1},
        },
        required=("check_interval",),
    ),
    "filter": _obj(
        {
            "error_mode": {"enum": ["ignore", "silent", "propagate"]},
            "traces": _obj({"span": _OTTL_LIST, "spanevent": _OTTL_LIST}),
            "metrics": _obj({"metric": _OTTL_LIST, "datapoint": _OTTL_LIST}),
            "logs": _obj({"log_record": _OTTL_LIST}),
        }
    ),
    "transform": _obj(
        {
            "error_mode": {"enum": ["ignore", "silent", "propagate"]},
            **{
                f"{signal}_statements": {
                    "type": "array",
                    "items": _obj(
                        {
                            "context": {
                                "enum": [
                                    "resource",
                                    "scope",
                                    "span",
                                    "spanevent",
                                    "metric",
                                    "datapoint",
                                    "log",
                                ]
                            },
                            "statements": _OTTL_LIST,
                        },
                        required=("context", "statements"),
                    ),
                }
                for signal in ("trace", "metric", "log")
            },
        }
    ),
    "resource": _obj(
        {
            "attributes": {
                "type": "array",
                "minItems": 1,
                "items": _obj(
                    {
                        "key": {"type": "string"},
                        "value": {"type": ["string", "number", "boolean"]},
                        "from_attribute": {"type": "string"},
                        "action": {"enum": ["insert", "update", "upsert", "delete", "hash"]},
                    },
                    required=("key", "action"),
                ),
            }
        },
        required=("attributes",),
    ),
}
_OTLP_CLIENT = {
    "tls": _TLS,
    "timeout": _DURATION,
    "compression": {"enum": ["gzip", "zstd", "snappy", "none"]},
    "balancer_name": {"enum": ["round_robin", "pick_first"]},
}
EXPORTERS: dict[str, dict[str, Any]] = {
    "otlp": _obj({"endpoint": {"type": "string"}, **_OTLP_CLIENT}, required=("endpoint",)),
    "prometheus": _obj(
        {
            "endpoint": _ENV_ENDPOINT,
            "namespace": {"type": "string"},
            "enable_open_metrics": {"type": "boolean"},
            "send_timestamps": {"type": "boolean"},
            "metric_expiration": _DURATION,
            "add_metric_suffixes": {"type": "boolean"},
            "resource_to_telemetry_conversion": _obj({"enabled": {"type": "boolean"}}),
        },
        required=("endpoint",),
    ),
    "debug": _obj({"verbosity": {"enum": ["basic", "normal", "detailed"]}}),
    "loadbalancing": _obj(
        {
            "routing_key": {"enum": ["traceID", "service", "resource", "metric", "streamID"]},
            "protocol": _obj({"otlp": _obj(_OTLP_CLIENT)}, required=("otlp",)),
            "resolver": _obj(
                {
                    "dns": _obj(
                        {
                            "hostname": {"type": "string"},
                            "port": {"type": "string", "pattern": r"^\d+$"},
                            "interval": _DURATION,
                            "timeout": _DURATION,
                        },
                        required=("hostname",),
                    ),
                    "static": _obj(
                        {"hostnames": {"type": "array", "items": {"type": "string"}}},
                        required=("hostnames",),
                    ),
                }
            ),
        },
        required=("protocol", "resolver"),
    ),
}
CONNECTORS: dict[str, dict[str, Any]] = {
    "spanmetrics": _obj(
        {
            "namespace": {"type": "string"},
            "metrics_flush_interval": _DURATION,
            "aggregation_temporality": {
                "enum": ["AGGREGATION_TEMPORALITY_CUMULATIVE", "AGGREGATION_TEMPORALITY_DELTA"]
            },
            "dimensions_cache_size": {"type": "integer", "minimum": 1},
            "resource_metrics_key_attributes": {"type": "array", "items": {"type": "string"}},
            "exemplars": _obj(
                {"enabled": {"type": "boolean"}, "max_per_data_point": {"type": "integer"}}
            ),
            "histogram": _obj(
                {
                    "unit": {"enum": ["ms", "s"]},
                    "explicit": _obj({"buckets": {"type": "array", "items": _DURATION}}),
                    "exponential": _obj({"max_size": {"type": "integer"}}),
                }
            ),
            "dimensions": {
                "type": "array",
                "items": _obj(
                    {"name": {"type": "string"}, "default": {"type": "string"}},
                    required=("name",),
                ),
            },
        }
    ),
}
# Pipeline types each connector takes in (as an exporter) and puts out (as a receiver).
CONNECTOR_TYPES = {"spanmetrics": ("traces", "metrics")}
EXTENSIONS: dict[str, dict[str, Any]] = {
    "health_check": _obj({"endpoint": _ENV_ENDPOINT, "path": {"type": "string"}}),
}

KINDS = {
    "receivers": RECEIVERS,
    "processors": PROCESSORS,
    "exporters": EXPORTERS,
    "connectors": CONNECTORS,
    "extensions": EXTENSIONS,
}
_ID = r"^[a-z_]+(/[A-Za-z0-9_.-]+)?$"


def _components_schema(types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Component ids are `type` or `type/name`; the settings follow the type's schema."""
    return {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": _ID},
        "patternProperties": {
            rf"^{re.escape(component_type)}(/.+)?$": schema
            for component_type, schema in types.items()
        },
        "additionalProperties": False,
    }


_PIPELINE = _obj(
    {
        "receivers": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "processors": {"type": "array", "items": {"type": "string"}},
        "exporters": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    },
    required=("receivers", "exporters"),
)

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["receivers", "exporters", "service"],
    "properties": {
        **{kind: _components_schema(types) for kind, types in KINDS.items()},
        "service": _obj(
            {
                "extensions": {"type": "array", "items": {"type": "string"}},
                "telemetry": {"type": "object"},
                "pipelines": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": r"^(traces|metrics|logs)(/[A-Za-z0-9_.-]+)?$"},
                    "additionalProperties": _PIPELINE,
                },
            },
            required=("pipelines",),
        ),
    },
}


def _walk_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _walk_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _walk_strings(v)]
    return []


def config_errors(config: Any) -> list[str]:
    """Everything wrong with a collector config; an empty list when it is valid."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(config)
    ]
    if errors:
        return errors
    pipelines: dict[str, dict[str, list[str]]] = config["service"]["pipelines"]
    used: dict[str, set[str]] = {kind: set() for kind in KINDS}
    connectors = set(config.get("connectors", {}))
    for name, pipeline in pipelines.items():
        signal = name.split("/")[0]
        for role, kind in (("receivers", "receivers"), ("exporters", "exporters")):
            for component in pipeline[role]:
                if component in connectors:
                    used["connectors"].add(component)
                    consumes, produces = CONNECTOR_TYPES[component.split("/")[0]]
                    wanted = consumes if role == "exporters" else produces
                    if signal != wanted:
                        errors.append(f"pipeline {name}: connector {component} cannot be {role}")
                    continue
                used[kind].add(component)
                if component not in config.get(kind, {}):
                    errors.append(f"pipeline {name}: {kind[:-1]} {component} is not defined")
        for component in pipeline.get("processors", []):
            used["processors"].add(component)
            if component not in config.get("processors", {}):
                errors.append(f"pipeline {name}: processor {component} is not defined")
    for component in config["service"].get("extensions", []):
        used["extensions"].add(component)
        if component not in config.get("extensions", {}):
            errors.append(f"extension {component} is not defined")
    for kind in KINDS:
        for component in set(config.get(kind, {})) - used[kind]:
            errors.append(f"{kind[:-1]} {component} is defined but no pipeline uses it")
    for connector in connectors:
        in_exporters = any(connector in p["exporters"] for p in pipelines.values())
        in_receivers = any(connector in p["receivers"] for p in pipelines.values())
        if not (in_exporters and in_receivers):
            errors.append(f"connector {connector} must be an exporter and a receiver")
    for text in _walk_strings(config):
        for match in re.finditer(r"\$(\{[^}]*\}|\w+)", text):
            if not re.fullmatch(r"\$\{env:[A-Z_][A-Z0-9_]*\}", match.group(0)):
                errors.append(f"substitution {match.group(0)!r}: use ${{env:NAME}}")
    return errors


def env_references(config: Any) -> set[str]:
    """The environment variables a config reads through ${env:NAME}."""
    return {
        m.group(1) for text in _walk_strings(config) for m in re.finditer(r"\$\{env:(\w+)\}", text)
    }
