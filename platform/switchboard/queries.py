"""Small query helpers for the hot paths."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql import InsertQuery


def one_or_none(queryset: QuerySet[Any]) -> Any:
    """The row a lookup by a unique key finds, or None.

    `QuerySet.first()` orders by the model's default ordering (or the primary key), which means
    nothing for a unique key and costs the ORM a copy of every ordering expression on each call;
    this asks for one row with no ORDER BY.
    """
    return next(iter(queryset.order_by()[:1]), None)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: dict[str, int]  # parameter name -> its position in `params`
    model: type[Model]
    init_list: list[str]
    model_slice: slice
    populators: list[Any]
    converters: list[tuple[int, tuple[list[Callable[..., Any]], Any]]]


class PreparedQuery:
    """A fixed ORM query, compiled to SQL once per process, then run with new parameter values.

    The ORM spends far longer turning a query with a few joins into SQL (the columns of every
    model, the join conditions, the ordering) than PostgreSQL spends answering it by primary key.
    A query a chat turn runs every time is written once, as a queryset, by `build`, which receives
    a placeholder string for each named parameter; its SQL is compiled at first use, and each run
    only swaps the placeholders' values and turns rows into model instances the way Django does
    (select_related objects, field converters such as JSON decoding included).

    Parameters must be strings compared as they are (ids, keys, hashes): a placeholder that the
    ORM transforms (LIKE patterns, casts) cannot be found again and is refused at compile time.
    """

    def __init__(self, build: Callable[..., QuerySet[Any]], *, parameters: Sequence[str]):
        self._build = build
        self._parameters = tuple(parameters)
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str) -> _Compiled:
        placeholders = {name: f"\x00{name}:{id(self)}\x00" for name in self._parameters}
        queryset = self._build(**placeholders)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = {}
        for name, placeholder in placeholders.items():
            positions = [index for index, value in enumerate(params) if value == placeholder]
            if len(positions) != 1:
                raise ValueError(f"Parameter {name!r} must appear exactly once, unchanged, in the query's SQL.")
            slots[name] = positions[0]
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        model_slice = slice(fields[0], fields[-1] + 1)
        converters = compiler.get_converters([column[0] for column in select[0 : compiler.col_count]])
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=slots,
            model=klass_info["model"],
            init_list=[column[0].target.attname for column in select[model_slice]],
            model_slice=model_slice,
            populators=get_related_populators(klass_info, select, alias),
            converters=list(converters.items()),
        )

    def all(self, *, using: str = DEFAULT_DB_ALIAS, **values: str) -> list[Any]:
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(using) or self._compile(using)
                self._compiled[using] = compiled
        params = list(compiled.params)
        for name, position in compiled.slots.items():
            params[position] = values[name]
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        found = []
        for raw in rows:
            row = list(raw)
            for position, (functions, expression) in compiled.converters:
                value = row[position]
                for convert in functions:
                    value = convert(value, expression, connection)
                row[position] = value
            instance = compiled.model.from_db(using, compiled.init_list, row[compiled.model_slice])
            for populator in compiled.populators:
                populator.populate(row, instance)
            found.append(instance)
        return found

    def one_or_none(self, *, using: str = DEFAULT_DB_ALIAS, **values: str) -> Any:
        """The first row's instance or None (build the queryset with `[:1]` for a lookup by key)."""
        found = self.all(using=using, **values)
        return found[0] if found else None


def insert_in_one_statement(*groups: Sequence[Model], using: str = DEFAULT_DB_ALIAS) -> None:
    """INSERT rows of several models as one SQL statement: `WITH a AS (INSERT …) INSERT …`.

    Rows that belong together (a conversation and its first messages) are written by one
    statement, which PostgreSQL runs atomically without a transaction around it: one round trip
    instead of BEGIN, an INSERT per table and COMMIT. Each group holds instances of one model
    whose primary keys are made in Python; the SQL is the ORM's own INSERT for them (defaults,
    `auto_now`, JSON and the rest prepared as `bulk_create` prepares them). Foreign keys may point
    from a later group to an earlier one, or within a group: Django declares them DEFERRABLE
    INITIALLY DEFERRED, so they are checked when the statement ends.
    """
    connection = connections[using]
    parts: list[str] = []
    params: list[Any] = []
    for objs in groups:
        model = type(objs[0])
        fields = [field for field in model._meta.concrete_fields if not field.generated]
        for obj in objs:
            obj._prepare_related_fields_for_save(operation_name="insert_in_one_statement")
        query = InsertQuery(model)
        query.insert_values(fields, objs)
        [(sql, values)] = query.get_compiler(connection=connection).as_sql()
        parts.append(sql)
        params.extend(values)
    *earlier, last = parts
    sql = (
        "WITH " + ", ".join(f"inserted_{number} AS ({part})" for number, part in enumerate(earlier)) + " " + last
        if earlier
        else last
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    for objs in groups:
        for obj in objs:
            obj._state.adding = False
            obj._state.db = using
