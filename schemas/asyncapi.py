"""JSON Schema and AsyncAPI 3 documents generated from the models and the topic catalogue.

The documents are derived, never hand-edited: the pydantic models and ``topics.TOPICS`` (which
names each topic's value model) are the single source of truth, so the published contract cannot
drift from the code.
"""

from __future__ import annotations

from typing import Any

from civicpulse.schemas.topics import TOPICS, TopicSpec, alerts_topic, topic_name, value_models

__all__ = ["asyncapi_document", "json_schemas"]


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per event type, as the wire carries it."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, model in value_models().items():
        schema = model.model_json_schema(mode="serialization", ref_template="#/$defs/{model}")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://civicpulse.invalid/schemas/{name}.json"
        schema["title"] = name
        schemas[name] = schema
    return schemas


def _channel_id(logical: str) -> str:
    return logical.replace(".", "_").replace("{", "").replace("}", "")


def _component_schemas() -> dict[str, Any]:
    """Every value type's schema, with the ``$defs`` hoisted into AsyncAPI components."""
    schemas: dict[str, Any] = {}
    for name, model in value_models().items():
        schema = model.model_json_schema(
            mode="serialization", ref_template="#/components/schemas/{model}"
        )
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return schemas


def _message(spec: TopicSpec) -> dict[str, Any]:
    """The AsyncAPI message of one topic: its value type and its Kafka key."""
    return {
        "name": spec.value_name,
        "title": f"{spec.value_name} on {spec.name}",
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{spec.value_name}"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"Kafka key: {spec.key}"},
                "bindingVersion": "0.5.0",
            }
        },
    }


def _channel(spec: TopicSpec, message_id: str, prefix: str) -> dict[str, Any]:
    """The AsyncAPI channel of one topic: its physical name, partitions and retention."""
    compaction = {"topicConfiguration": {"cleanup.policy": ["compact"]}} if spec.compacted else {}
    channel: dict[str, Any] = {
        "address": topic_name(spec.name, prefix),
        "description": spec.description,
        "messages": {spec.value_name: {"$ref": f"#/components/messages/{message_id}"}},
        "bindings": {
            "kafka": {
                "topic": topic_name(spec.name, prefix),
                "partitions": spec.partitions,
                **compaction,
                "bindingVersion": "0.5.0",
            }
        },
    }
    if "{department_id}" in spec.name:
        channel["parameters"] = {
            "department_id": {"description": "department_id from the catalogue"}
        }
    return channel


def asyncapi_document(prefix: str = "") -> dict[str, Any]:
    """An AsyncAPI 3.0 document describing every topic, its key and its value."""
    specs: list[TopicSpec] = [*TOPICS, alerts_topic("{department_id}")]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in specs:
        channel_id = _channel_id(spec.name)
        message_id = f"{channel_id}_message"
        messages[message_id] = _message(spec)
        channels[channel_id] = _channel(spec, message_id, prefix)
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Publish {spec.value_name} to {spec.name}",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "civicpulse event streams",
            "version": "1.0.0",
            "description": "Smiley presses, judged presses, scores, alerts and dead letters. "
            "Topic names carry the configured prefix.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": _component_schemas(), "messages": messages},
    }
