"""JSON Schema and AsyncAPI 3 documents generated from the models and the topic catalogue.

The documents are derived, never hand-edited: the pydantic models and ``topics.TOPICS`` are the
single source of truth, so the published contract cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from civicpulse.schemas.catalogue import Catalogue
from civicpulse.schemas.events import (
    AlertAction,
    AlertEvent,
    DeadLetter,
    JudgedPress,
    PressEvent,
    ReasonCount,
    ScoreEvent,
)
from civicpulse.schemas.topics import TOPICS, TopicSpec, alerts_topic, topic_name

__all__ = ["EVENT_MODELS", "asyncapi_document", "json_schemas"]

EVENT_MODELS: dict[str, type[BaseModel]] = {
    "PressEvent": PressEvent,
    "JudgedPress": JudgedPress,
    "ScoreEvent": ScoreEvent,
    "AlertEvent": AlertEvent,
    "AlertAction": AlertAction,
    "ReasonCount": ReasonCount,
    "DeadLetter": DeadLetter,
    "CatalogueRecord": Catalogue,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per event type, as the wire carries it."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, model in EVENT_MODELS.items():
        schema = model.model_json_schema(mode="serialization", ref_template="#/$defs/{model}")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://civicpulse.invalid/schemas/{name}.json"
        schema["title"] = name
        schemas[name] = schema
    return schemas


def _channel_id(logical: str) -> str:
    return logical.replace(".", "_").replace("{", "").replace("}", "")


def _components_schema(name: str) -> dict[str, Any]:
    """A model's schema with its ``$defs`` hoisted into AsyncAPI components."""
    schema = EVENT_MODELS[name].model_json_schema(
        mode="serialization", ref_template="#/components/schemas/{model}"
    )
    schema.pop("$defs", None)
    return schema


def asyncapi_document(prefix: str = "") -> dict[str, Any]:
    """An AsyncAPI 3.0 document describing every topic, its key and its value."""
    specs: list[TopicSpec] = [*TOPICS, alerts_topic("{department_id}")]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name, model in EVENT_MODELS.items():
        full = model.model_json_schema(
            mode="serialization", ref_template="#/components/schemas/{model}"
        )
        for def_name, definition in full.get("$defs", {}).items():
            schemas[def_name] = definition
        schemas[name] = _components_schema(name)
    for spec in specs:
        channel_id = _channel_id(spec.name)
        message_id = f"{channel_id}_message"
        messages[message_id] = {
            "name": spec.value,
            "title": f"{spec.value} on {spec.name}",
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{spec.value}"},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": f"Kafka key: {spec.key}"},
                    "bindingVersion": "0.5.0",
                }
            },
        }
        topic_config: dict[str, Any] = {"partitions": spec.partitions}
        if spec.compacted:
            topic_config["topicConfiguration"] = {"cleanup.policy": ["compact"]}
        channel: dict[str, Any] = {
            "address": topic_name(spec.name, prefix),
            "description": spec.description,
            "messages": {spec.value: {"$ref": f"#/components/messages/{message_id}"}},
            "bindings": {
                "kafka": {
                    "topic": topic_name(spec.name, prefix),
                    "partitions": spec.partitions,
                    **(
                        {"topicConfiguration": {"cleanup.policy": ["compact"]}}
                        if spec.compacted
                        else {}
                    ),
                    "bindingVersion": "0.5.0",
                }
            },
        }
        if "{department_id}" in spec.name:
            channel["parameters"] = {
                "department_id": {"description": "department_id from the catalogue"}
            }
        channels[channel_id] = channel
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Publish {spec.value} to {spec.name}",
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
        "components": {"schemas": schemas, "messages": messages},
    }
