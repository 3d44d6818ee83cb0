"""A bot's configuration: its shape, defaults and validation.

The draft lives in `Bot.config`; publishing snapshots it into a `BotVersion`. Both are plain JSON
so old versions stay readable; `normalise()` fills defaults for keys added since, and
`BotConfig.load()` gives a stored one (however old) as typed values for the code that runs turns.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
VARIABLE_TYPES = ("string", "number", "boolean", "select")

DEFAULT_CONFIG: dict[str, Any] = {
    "system_prompt": "You are a helpful assistant.",
    "variables": [],
    "model": {
        "provider_model_id": None,
        "temperature": 0.7,
        "top_p": 1.0,
        "max_output_tokens": None,
        "json_output": False,
    },
    "memory": {"max_turns": 10, "max_tokens": 4000},
    "opening_message": "",
    "starter_questions": [],
    "max_tool_iterations": 5,
    "knowledge": {"knowledge_base_ids": [], "top_k": 5, "score_threshold": None, "no_match_reply": ""},
    "actions": {"operation_ids": []},
}


def normalise(config: dict[str, Any] | None) -> dict[str, Any]:
    """`config` with every default filled in (nested sections merged, not replaced)."""
    merged = copy.deepcopy(DEFAULT_CONFIG)
    for key, value in (config or {}).items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class ModelSettings:
    provider_model_id: str | None
    temperature: float
    top_p: float
    max_output_tokens: int | None
    json_output: bool


@dataclass(frozen=True)
class MemorySettings:
    max_turns: int
    max_tokens: int


@dataclass(frozen=True)
class KnowledgeSettings:
    knowledge_base_ids: list[str]
    top_k: int
    score_threshold: float | None
    no_match_reply: str


@dataclass(frozen=True)
class ActionsSettings:
    operation_ids: list[str]


def _section(cls, values: dict[str, Any]):
    # Keys a later version dropped are ignored, so every stored version still loads.
    return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class BotConfig:
    """A stored configuration, read. Validation stays with `validate_config` (writes only)."""

    system_prompt: str
    variables: list[dict[str, Any]]
    model: ModelSettings
    memory: MemorySettings
    opening_message: str
    starter_questions: list[str]
    max_tool_iterations: int
    knowledge: KnowledgeSettings
    actions: ActionsSettings

    @classmethod
    def load(cls, stored: dict[str, Any] | None) -> BotConfig:
        config = normalise(stored)
        return cls(
            system_prompt=config["system_prompt"],
            variables=config["variables"],
            model=_section(ModelSettings, config["model"]),
            memory=_section(MemorySettings, config["memory"]),
            opening_message=config["opening_message"],
            starter_questions=config["starter_questions"],
            max_tool_iterations=config["max_tool_iterations"],
            knowledge=_section(KnowledgeSettings, config["knowledge"]),
            actions=_section(ActionsSettings, config["actions"]),
        )


class VariableSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    type = serializers.ChoiceField(choices=VARIABLE_TYPES, default="string")
    required = serializers.BooleanField(default=False)
    default = serializers.JSONField(required=False, allow_null=True, default=None)
    description = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    options = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=100
    )

    def validate_name(self, value: str) -> str:
        if not VARIABLE_NAME.match(value):
            raise serializers.ValidationError(
                "Use letters, digits and underscores, starting with a letter (e.g. customer_name)."
            )
        return value

    def validate(self, data):
        if data["type"] == "select" and not data["options"]:
            raise serializers.ValidationError({"options": "A select variable needs at least one option."})
        return data


class ModelSettingsSerializer(serializers.Serializer):
    provider_model_id = serializers.CharField(allow_null=True, required=False, default=None)
    temperature = serializers.FloatField(min_value=0, max_value=2, default=0.7)
    top_p = serializers.FloatField(min_value=0, max_value=1, default=1.0)
    max_output_tokens = serializers.IntegerField(min_value=1, max_value=200_000, allow_null=True, default=None)
    json_output = serializers.BooleanField(default=False)


class MemorySerializer(serializers.Serializer):
    max_turns = serializers.IntegerField(min_value=0, max_value=200, default=10)
    max_tokens = serializers.IntegerField(min_value=100, max_value=2_000_000, default=4000)


class KnowledgeSettingsSerializer(serializers.Serializer):
    knowledge_base_ids = serializers.ListField(child=serializers.CharField(), default=list, max_length=50)
    top_k = serializers.IntegerField(min_value=1, max_value=50, default=5)
    score_threshold = serializers.FloatField(min_value=0, max_value=1, allow_null=True, default=None)
    no_match_reply = serializers.CharField(allow_blank=True, max_length=2000, default="")


class ActionsSettingsSerializer(serializers.Serializer):
    operation_ids = serializers.ListField(child=serializers.CharField(), default=list, max_length=512)


class BotConfigSerializer(serializers.Serializer):
    system_prompt = serializers.CharField(
        allow_blank=True, max_length=100_000, trim_whitespace=False, default=DEFAULT_CONFIG["system_prompt"]
    )
    variables = VariableSerializer(many=True, default=list)
    model = ModelSettingsSerializer(default=dict)
    memory = MemorySerializer(default=dict)
    opening_message = serializers.CharField(allow_blank=True, max_length=4000, default="")
    starter_questions = serializers.ListField(child=serializers.CharField(max_length=300), max_length=10, default=list)
    max_tool_iterations = serializers.IntegerField(min_value=1, max_value=20, default=5)
    knowledge = KnowledgeSettingsSerializer(default=dict)
    actions = ActionsSettingsSerializer(default=dict)

    def validate_variables(self, variables):
        names = [v["name"] for v in variables]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise serializers.ValidationError(f"Variable names must be unique: {', '.join(duplicates)}.")
        return variables

    def validate(self, data):
        from bots.prompting import template_variables

        declared = {v["name"] for v in data.get("variables", [])}
        # Both texts are filled from the same variables: an undeclared name would silently become "".
        problems = {}
        for field, label in (("system_prompt", "The prompt"), ("opening_message", "The opening message")):
            undeclared = sorted(template_variables(data.get(field, "")) - declared)
            if undeclared:
                problems[field] = (
                    f"{label} uses undeclared variables: "
                    + ", ".join(f"{{{{{n}}}}}" for n in undeclared)
                    + ". Declare them under variables."
                )
        if problems:
            raise serializers.ValidationError(problems)
        return data


def validate_config(raw: dict[str, Any], *, partial_base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A complete, validated config. With `partial_base`, `raw` is merged over it first."""
    merged = normalise(partial_base) if partial_base is not None else {}
    for key, value in (raw or {}).items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    serializer = BotConfigSerializer(data=merged)
    if not serializer.is_valid():
        raise serializers.ValidationError({"config": serializer.errors})
    return _plain(serializer.validated_data)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
