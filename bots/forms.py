"""Forms of the bot pages. They parse what the browser sends into the arguments of
`bots.services.bot_create` / `bot_update`; the services (and `bots.config`) validate and write.

Errors the services raise carry a parameter path (`config.memory.max_turns`,
`config.variables[1].name`, …); `BotForm.add_service_errors` puts each one next to the field
it belongs to.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import Count
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework.exceptions import ValidationError as DrfValidationError

from actions.models import Operation
from bots.config import VARIABLE_TYPES, normalise, validate_config
from knowledge.models import KnowledgeBase
from knowledge.retrieval import DEFAULT_SCORE_THRESHOLD
from providers.models import ModelKind, ProviderModel

EXTRA_VARIABLE_ROWS = 2
MAX_VARIABLE_ROWS = 50
MAX_AVATAR_TEXT = 16

_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")

# Which part of a bot's configuration each form field edits: the form builds the config from this
# and shows a service error about a config path next to the field it names.
CONFIG_FIELDS: dict[str, tuple[str, ...]] = {
    "system_prompt": ("system_prompt",),
    "variables": ("variables",),
    "provider_model_id": ("model", "provider_model_id"),
    "temperature": ("model", "temperature"),
    "top_p": ("model", "top_p"),
    "max_output_tokens": ("model", "max_output_tokens"),
    "json_output": ("model", "json_output"),
    "memory_max_turns": ("memory", "max_turns"),
    "memory_max_tokens": ("memory", "max_tokens"),
    "opening_message": ("opening_message",),
    "starter_questions": ("starter_questions",),
    "max_tool_iterations": ("max_tool_iterations",),
    "knowledge_base_ids": ("knowledge", "knowledge_base_ids"),
    "knowledge_top_k": ("knowledge", "top_k"),
    "knowledge_score_threshold": ("knowledge", "score_threshold"),
    "knowledge_no_match_reply": ("knowledge", "no_match_reply"),
    "operation_ids": ("actions", "operation_ids"),
}
# Where an error about a parameter path is shown: the longest matching prefix wins. An error
# about the model section as a whole belongs with the model choice.
_PARAM_FIELDS = {
    **{name: name for name in ("name", "slug", "description", "avatar")},
    "config.model": "provider_model_id",
    **{"config." + ".".join(path): field for field, path in CONFIG_FIELDS.items()},
}


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def flatten_errors(detail: Any, path: str = "") -> list[tuple[str, str]]:
    """[(parameter path, message)] from a DRF ValidationError's nested detail."""
    if isinstance(detail, dict):
        items: list[tuple[str, str]] = []
        for key, value in detail.items():
            if key == "non_field_errors":
                child = path
            elif isinstance(key, int) or str(key).isdigit():
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            items.extend(flatten_errors(value, child))
        return items
    if isinstance(detail, list):
        items = []
        for index, value in enumerate(detail):
            items.extend(flatten_errors(value, f"{path}[{index}]" if isinstance(value, (dict, list)) else path))
        return items
    return [(path, str(detail))]


def _parse_path(param: str) -> list[str | int]:
    return [int(index) if index else name for index, name in _PATH_PART.findall(param or "")]


# -- variables --------------------------------------------------------------------------------------


class VariableRow:
    """One row of the variables table as the browser sent it, with its own errors."""

    def __init__(
        self,
        index: int,
        *,
        name: str = "",
        type: str = "string",
        required: bool = False,
        default: str = "",
        options: str = "",
        description: str = "",
    ):
        self.index = index
        self.name = name
        self.type = type if type in VARIABLE_TYPES else "string"
        self.required = required
        self.default = default
        self.options = options
        self.description = description
        self.errors: list[str] = []

    @property
    def prefix(self) -> str:
        return f"var-{self.index}-"

    @property
    def is_blank(self) -> bool:
        return not (self.name.strip() or self.default.strip() or self.options.strip() or self.description.strip())

    @classmethod
    def from_config(cls, index: int, variable: dict[str, Any]) -> VariableRow:
        default = variable.get("default")
        if default is None:
            shown = ""
        elif isinstance(default, bool):
            shown = "true" if default else "false"
        else:
            shown = str(default)
        return cls(
            index,
            name=variable.get("name", ""),
            type=variable.get("type", "string"),
            required=bool(variable.get("required")),
            default=shown,
            options=", ".join(variable.get("options") or []),
            description=variable.get("description", ""),
        )

    @classmethod
    def from_post(cls, data, index: int) -> VariableRow:
        prefix = f"var-{index}-"
        return cls(
            index,
            name=data.get(prefix + "name", "").strip(),
            type=data.get(prefix + "type", "string"),
            required=data.get(prefix + "required") in ("on", "true", "1"),
            default=data.get(prefix + "default", "").strip(),
            options=data.get(prefix + "options", ""),
            description=data.get(prefix + "description", "").strip(),
        )

    def option_list(self) -> list[str]:
        return [option.strip() for option in re.split(r"[,\n]", self.options) if option.strip()]

    def to_config(self) -> dict[str, Any] | None:
        """The variable as bots.config expects it; None (with self.errors set) when it cannot be read."""
        options = self.option_list() if self.type == "select" else []
        default: Any = self.default or None
        if default is not None:
            if self.type == "number":
                try:
                    number = float(default)
                except ValueError:
                    self.errors.append(_("The default of a number variable must be a number."))
                    return None
                default = int(number) if number.is_integer() and "." not in default else number
            elif self.type == "boolean":
                lowered = default.lower()
                if lowered not in ("true", "false", "yes", "no", "1", "0"):
                    self.errors.append(_("The default of a yes/no variable is true or false."))
                    return None
                default = lowered in ("true", "yes", "1")
            elif self.type == "select" and default not in options:
                self.errors.append(_("The default must be one of the options."))
                return None
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": default,
            "description": self.description,
            "options": options,
        }


def variable_rows_from_post(data) -> list[VariableRow]:
    """The rows sent, in order, without blank rows and rows ticked for removal."""
    indexes = sorted(
        {
            int(match.group(1))
            for key in data
            if (match := re.fullmatch(r"var-(\d+)-name", key)) and int(match.group(1)) < MAX_VARIABLE_ROWS
        }
    )
    rows = [
        VariableRow.from_post(data, index)
        for index in indexes
        if data.get(f"var-{index}-delete") not in ("on", "true", "1")
    ]
    return [row for row in rows if not row.is_blank]


# -- the bot form ----------------------------------------------------------------------------------


def chat_model_choices(workspace, current_id: str | None = None) -> list[tuple[str, str]]:
    """Enabled chat models of the workspace (and the bot's current model even if disabled)."""
    models = (
        ProviderModel.objects.for_workspace(workspace)
        .filter(kind=ModelKind.CHAT)
        .select_related("provider")
        .order_by("provider__name", "model")
    )
    choices = [("", _("— choose a chat model —"))]
    for entry in models:
        usable = entry.is_enabled and entry.provider.is_enabled
        if usable or entry.pk == current_id:
            label = f"{entry.provider.name} · {entry.display_name or entry.model}"
            choices.append((entry.pk, label if usable else _("%(model)s (disabled)") % {"model": label}))
    return choices


def _documents(count: int) -> str:
    return ngettext("%(count)d document", "%(count)d documents", count) % {"count": count}


def knowledge_base_choices(workspace, current_ids: list[str]) -> list[tuple[str, str]]:
    """The workspace's knowledge bases by name (with their size), and any chosen one that is gone."""
    bases = KnowledgeBase.objects.for_workspace(workspace).annotate(document_count=Count("documents")).order_by("name")
    choices = [(base.pk, f"{base.name} · {_documents(base.document_count)}") for base in bases]
    known = {pk for pk, _label in choices}
    return choices + [(pk, _("%(id)s (deleted: untick it)") % {"id": pk}) for pk in current_ids if pk not in known]


def operation_choices(workspace, current_ids: list[str]) -> list[tuple[str, Any]]:
    """Operations grouped by action: "name — summary", ⚠ for consequential ones."""
    groups: dict[str, list[tuple[str, str]]] = {}
    operations = (
        Operation.objects.for_workspace(workspace).select_related("action").order_by("action__name", "position")
    )
    for operation in operations:
        consequential = (
            operation.consequential_override
            if operation.consequential_override is not None
            else operation.consequential_default
        )
        label = f"{'⚠ ' if consequential else ''}{operation.name} — {operation.method} {operation.path}"
        if operation.summary:
            label += f" · {operation.summary[:80]}"
        if not operation.enabled:
            label += " " + str(_("(disabled)"))
        groups.setdefault(operation.action.name, []).append((operation.pk, label))
    known = {pk for items in groups.values() for pk, _label in items}
    missing = [(pk, _("%(id)s (deleted: untick it)") % {"id": pk}) for pk in current_ids if pk not in known]
    return [(name, items) for name, items in groups.items()] + ([(_("Missing"), missing)] if missing else [])


_SLUG_HELP = _("The bot's model name on the OpenAI-compatible API; changing it breaks clients that use the old one.")


class BotForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"))
    slug = forms.SlugField(
        label=_("Slug"),
        max_length=64,
        required=False,
        help_text=_(
            "Letters, digits, hyphens. The bot's model name on the OpenAI-compatible API; "
            "left empty, it is made from the name."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(
        max_length=2000, required=False, label=_("Description"), widget=forms.Textarea(attrs={"rows": 2})
    )
    avatar = forms.CharField(
        label=_("Avatar"),
        max_length=500,
        required=False,
        help_text=_("An emoji (🤖) or an image URL (https://…)."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    system_prompt = forms.CharField(
        label=_("System prompt"),
        required=False,
        strip=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=_(
            "Instructions the model gets before every conversation. {{variable}} is replaced by the value "
            "of a variable declared below."
        ),
    )
    provider_model_id = forms.ChoiceField(label=_("Chat model"), required=False)
    temperature = forms.FloatField(
        label=_("Temperature"),
        min_value=0,
        max_value=2,
        initial=0.7,
        widget=forms.NumberInput(attrs={"step": "0.1"}),
        help_text=_("0 = focused and repeatable, 2 = most varied."),
    )
    top_p = forms.FloatField(
        label=_("Top p"), min_value=0, max_value=1, initial=1.0, widget=forms.NumberInput(attrs={"step": "0.05"})
    )
    max_output_tokens = forms.IntegerField(
        label=_("Max output tokens"),
        min_value=1,
        max_value=200_000,
        required=False,
        help_text=_("Empty: the model's own limit."),
    )
    json_output = forms.BooleanField(
        label=_("JSON output"), required=False, help_text=_("Ask the model to answer with a JSON object (JSON mode).")
    )
    memory_max_turns = forms.IntegerField(
        label=_("Memory: turns"),
        min_value=0,
        max_value=200,
        initial=10,
        help_text=_("Earlier question/answer turns sent with each message (0: none)."),
    )
    memory_max_tokens = forms.IntegerField(
        label=_("Memory: tokens"),
        min_value=100,
        max_value=2_000_000,
        initial=4000,
        help_text=_("Budget for the prompt, context and remembered turns."),
    )
    opening_message = forms.CharField(
        label=_("Opening message"),
        max_length=4000,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Shown before the user writes anything. {{variable}} is replaced "
            "by the variable's value, as in the system prompt."
        ),
    )
    starter_questions = forms.CharField(
        label=_("Starter questions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, at most 10. Shown as buttons to start a conversation."),
    )
    max_tool_iterations = forms.IntegerField(
        label=_("Max tool iterations"),
        min_value=1,
        max_value=20,
        initial=5,
        help_text=_("Rounds of action calls per answer before the model must reply."),
    )
    knowledge_base_ids = forms.MultipleChoiceField(
        label=_("Knowledge bases"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "picker-option"}),
        help_text=_("The bot searches these for every question and cites what it uses."),
    )
    knowledge_top_k = forms.IntegerField(label=_("Passages retrieved"), min_value=1, max_value=50, initial=5)
    knowledge_score_threshold = forms.FloatField(
        label=_("Minimum score"),
        min_value=0,
        max_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": _("each base's")}),
        help_text=format_lazy(
            _(
                "Fused score (0–1) a passage needs to be given to the model and cited. Empty: each knowledge "
                "base's own minimum score (set on the base; {default} for bases without one), which leaves out "
                "passages with nothing in common with the question; 0: keep every passage. Hit testing shows "
                "which passages pass."
            ),
            default=DEFAULT_SCORE_THRESHOLD,
        ),
    )
    knowledge_no_match_reply = forms.CharField(
        label=_("Reply when nothing matches"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Given instead of calling the model when the knowledge "
            "bases have nothing relevant. Empty: the model answers."
        ),
    )
    operation_ids = forms.MultipleChoiceField(
        label=_("Action operations"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "picker-option"}),
        help_text=_("The model may call these; ⚠ marks operations that change something (they wait for approval)."),
    )

    def __init__(self, data=None, *, workspace, bot=None, add_rows: int = 0):
        self.bot = bot
        config = normalise(bot.config if bot is not None else {})
        initial = self._initial(bot, config) if data is None else None
        super().__init__(data, initial=initial)
        current_model = config["model"].get("provider_model_id")
        self.fields["provider_model_id"].choices = chat_model_choices(workspace, current_model)
        self.fields["knowledge_base_ids"].choices = knowledge_base_choices(
            workspace, config["knowledge"]["knowledge_base_ids"]
        )
        self.fields["operation_ids"].choices = operation_choices(workspace, config["actions"]["operation_ids"])
        self.has_chat_models = len(self.fields["provider_model_id"].choices) > 1
        if bot is not None:
            self.fields["slug"].required = True
            self.fields["slug"].help_text = _SLUG_HELP
        if data is None:
            self.variable_rows = [VariableRow.from_config(i, v) for i, v in enumerate(config["variables"])]
        else:
            self.variable_rows = variable_rows_from_post(data)
        self.variable_errors: list[str] = []
        self._variables_flagged = False
        self._renumber_rows(extra=EXTRA_VARIABLE_ROWS + add_rows)

    @staticmethod
    def _initial(bot, config: dict[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for field, path in CONFIG_FIELDS.items():
            if field == "variables":
                continue  # the variables table has rows of its own
            value: Any = config
            for key in path:
                value = value.get(key)
            # Questions are edited one per line; ids are ticked in the pickers.
            if field in ("knowledge_base_ids", "operation_ids"):
                initial[field] = list(value or [])
            else:
                initial[field] = "\n".join(value) if isinstance(value, list) else value
        initial["provider_model_id"] = initial["provider_model_id"] or ""
        if bot is not None:
            initial.update(name=bot.name, slug=bot.slug, description=bot.description, avatar=bot.avatar)
        return initial

    def _renumber_rows(self, *, extra: int) -> None:
        rows = self.variable_rows
        for index, row in enumerate(rows):
            row.index = index
        total = min(MAX_VARIABLE_ROWS, len(rows) + extra)
        self.blank_rows = [VariableRow(index) for index in range(len(rows), total)]

    @property
    def all_variable_rows(self) -> list[VariableRow]:
        return [*self.variable_rows, *self.blank_rows]

    @property
    def variable_types(self) -> list[tuple[str, str]]:
        return [("string", _("text")), ("number", _("number")), ("boolean", _("yes/no")), ("select", _("select"))]

    # -- validation ---------------------------------------------------------------------------------

    def clean_avatar(self) -> str:
        value = self.cleaned_data["avatar"].strip()
        if not value:
            return ""
        if re.match(r"^[a-z][a-z0-9+.-]*:", value, re.IGNORECASE) or "/" in value:
            if not value.lower().startswith(("https://", "http://")):
                raise ValidationError(_("Use an emoji or an http(s) image URL."))
            URLValidator(schemes=["http", "https"], message=_("Enter a valid image URL."))(value)
        elif len(value) > MAX_AVATAR_TEXT:
            raise ValidationError(
                _("Use an emoji or a few characters (at most %(count)d), or an image URL.") % {"count": MAX_AVATAR_TEXT}
            )
        return value

    def clean_starter_questions(self) -> list[str]:
        return split_lines(self.cleaned_data["starter_questions"])

    def clean_knowledge_base_ids(self) -> list[str]:
        return list(dict.fromkeys(self.cleaned_data["knowledge_base_ids"]))

    def clean_operation_ids(self) -> list[str]:
        return list(dict.fromkeys(self.cleaned_data["operation_ids"]))

    def clean(self):
        cleaned = super().clean()
        variables = []
        for row in self.variable_rows:
            if not row.name:
                row.errors.append(_("Give the variable a name."))
                continue
            variable = row.to_config()
            if variable is not None:
                variables.append(variable)
        if any(row.errors for row in self.variable_rows):
            self._flag_variables()
        elif self._errors and "system_prompt" in cleaned:
            # The services will not run while other fields are invalid: check the texts with
            # variables and the variables now, so every problem shows on the first submission.
            try:
                validate_config(
                    {
                        "system_prompt": cleaned["system_prompt"],
                        "variables": variables,
                        "opening_message": cleaned.get("opening_message", ""),
                    },
                    partial_base={},
                )
            except DrfValidationError as exc:
                self.add_validation_errors(exc.detail)
        cleaned["variables"] = variables
        return cleaned

    @property
    def has_variable_errors(self) -> bool:
        return bool(self.variable_errors or any(row.errors for row in self.variable_rows))

    # -- service arguments --------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        data = {**self.cleaned_data, "provider_model_id": self.cleaned_data["provider_model_id"] or None}
        config: dict[str, Any] = {}
        for field, path in CONFIG_FIELDS.items():
            section = config
            for key in path[:-1]:
                section = section.setdefault(key, {})
            section[path[-1]] = data[field]
        return config

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        arguments = {
            "name": data["name"],
            "description": data["description"],
            "avatar": data["avatar"],
            "config": self.config(),
        }
        if data["slug"] or self.bot is not None:
            arguments["slug"] = data["slug"]
        return arguments

    # -- errors from the services -------------------------------------------------------------------

    def add_service_error(self, param: str | None, message: str) -> None:
        path = _parse_path(param or "")
        if path[:2] == ["config", "variables"] and len(path) > 2 and isinstance(path[2], int):
            index = path[2]
            if index < len(self.variable_rows):
                field = path[3] if len(path) > 3 else None
                label = {
                    "name": _("Name"),
                    "type": _("Type"),
                    "default": _("Default"),
                    "options": _("Options"),
                    "description": _("Description"),
                }.get(field, "")
                self.variable_rows[index].errors.append(f"{label}: {message}" if label else message)
                self._flag_variables()
                return
        field = None
        key = ""
        for part in path:
            key = f"{key}[{part}]" if isinstance(part, int) else (f"{key}.{part}" if key else part)
            if key in _PARAM_FIELDS:
                field = _PARAM_FIELDS[key]
        if field == "variables":
            self.variable_errors.append(message)
            self._flag_variables()
        elif field in self.fields:
            self.add_error(field, message)
        else:
            self.add_error(None, message)

    def add_validation_errors(self, detail: Any) -> None:
        for param, message in flatten_errors(detail):
            self.add_service_error(param, message)

    def _flag_variables(self) -> None:
        # One summary line above the form, however many rows have problems.
        if not self._variables_flagged:
            self._variables_flagged = True
            self.add_error(None, _("Some variables need fixing (see the variables table)."))


class PublishForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("What changed (optional)")}),
    )


def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False, default=str)
