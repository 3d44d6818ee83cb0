"""tools_for_operations: what a bot's model is offered."""

from __future__ import annotations

import re

import pytest

from actions import services
from actions.models import Operation
from actions.tools import Tool, tool_warnings, tools_for_operations

from .conftest import operation_named
from .helpers import operation, spec

pytestmark = pytest.mark.django_db

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def items_spec(title: str) -> dict:
    return spec(
        {
            "/items": {
                "get": operation(operationId="list_items", summary="List items"),
                "post": operation(
                    operationId="create_item",
                    requestBody={
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"name": {"type": "string"}}}
                            }
                        }
                    },
                ),
            },
            "/items/{id}": {"delete": operation(operationId="delete_item", **{"x-openai-isConsequential": False})},
        },
        info={"title": title, "version": "1"},
    )


def test_tools_follow_the_requested_order_and_skip_what_is_not_usable(workspace, import_spec) -> None:
    action = import_spec(items_spec("Shop"))
    ops = {op.name: op for op in Operation.objects.filter(action=action)}
    ids = ["op_unknown", ops["create_item"].pk, ops["list_items"].pk, ops["create_item"].pk, ops["delete_item"].pk]
    services.operation_update(operation=ops["delete_item"], enabled=False)
    tools = tools_for_operations(workspace_id=workspace.pk, operation_ids=ids)
    assert [t.name for t in tools] == ["create_item", "list_items"]
    create = tools[0]
    assert isinstance(create, Tool) and create.operation_id == ops["create_item"].pk
    assert create.consequential is True and tools[1].consequential is False
    assert create.schema() == {
        "type": "function",
        "function": {"name": "create_item", "description": create.description, "parameters": create.parameters},
    }
    assert create.parameters["properties"]["body"]["properties"] == {"name": {"type": "string"}}


def test_spec_and_owner_decide_what_is_consequential(workspace, import_spec) -> None:
    action = import_spec(items_spec("Shop"))
    delete = operation_named(action, "delete_item")
    listing = operation_named(action, "list_items")
    assert delete.consequential is False  # x-openai-isConsequential: false
    services.operation_update(operation=listing, consequential_override=True)
    tools = tools_for_operations(workspace_id=workspace.pk, operation_ids=[delete.pk, listing.pk])
    assert {t.name: t.consequential for t in tools} == {"delete_item": False, "list_items": True}
    services.operation_update(operation=listing, consequential_override=None)
    assert tools_for_operations(workspace_id=workspace.pk, operation_ids=[listing.pk])[0].consequential is False


def test_disabled_actions_offer_nothing(workspace, import_spec) -> None:
    action = import_spec(items_spec("Shop"))
    ids = list(Operation.objects.filter(action=action).values_list("pk", flat=True))
    services.action_update(action=action, enabled=False)
    assert tools_for_operations(workspace_id=workspace.pk, operation_ids=ids) == []


def test_names_are_unique_across_actions(workspace, import_spec) -> None:
    first = import_spec(items_spec("Shop"))
    second = import_spec(items_spec("Warehouse API"))
    third = import_spec(items_spec("Shop"))
    ids = [operation_named(a, "list_items").pk for a in (first, second, third)]
    names = [t.name for t in tools_for_operations(workspace_id=workspace.pk, operation_ids=ids)]
    assert names == ["list_items", "warehouse_api__list_items", "shop__list_items"]
    assert all(NAME.match(n) for n in names)
    again = [t.name for t in tools_for_operations(workspace_id=workspace.pk, operation_ids=ids)]
    assert again == names  # stable between the model call and the tool round


def test_other_workspaces_operations_are_ignored(workspace, import_spec) -> None:
    from tests.factories import WorkspaceFactory

    other = WorkspaceFactory()
    action = import_spec(items_spec("Shop"), workspace=other)
    ids = list(Operation.objects.filter(action=action).values_list("pk", flat=True))
    assert tools_for_operations(workspace_id=workspace.pk, operation_ids=ids) == []


def test_warnings_for_too_many_tools_and_large_schemas(workspace, import_spec) -> None:
    big_schema = {
        "type": "object",
        "properties": {f"field_{i}": {"type": "string", "description": "d" * 200} for i in range(120)},
    }
    paths = {f"/r{i}": {"get": operation(operationId=f"op{i}")} for i in range(130)}
    paths["/big"] = {
        "post": operation(operationId="big", requestBody={"content": {"application/json": {"schema": big_schema}}})
    }
    action = import_spec(spec(paths))
    ids = [*Operation.objects.filter(action=action).values_list("pk", flat=True), "op_gone"]
    codes = [w.code for w in tool_warnings(workspace_id=workspace.pk, operation_ids=ids)]
    assert codes[:3] == ["unavailable_operations", "too_many_tools", "large_tool_schema"]
    assert tool_warnings(workspace_id=workspace.pk, operation_ids=ids[:3]) == []
