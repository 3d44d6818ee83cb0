"""Local ``$ref`` resolution: JSON pointers, reference chains and fully inlined argument schemas.

Only references inside the document (``#/...``) are followed. Fetching remote documents
would let a spec make the server issue requests, so an external reference becomes a
permissive placeholder and a warning instead.

Inlining schemas has two ways to blow up, both seen in real specs:

* cycles (Stripe: ``file`` -> ``file_link`` -> ``file``): a reference met again while it is
  being expanded becomes a marker schema carrying ``x-switchboard-recursive``;
* shared sub-schemas referenced from many places: the expanded tree can be exponentially
  larger than the document. Each reference is expanded once and reused (memoised), and each
  operation has a budget of bytes and depth; past it, schemas become markers carrying
  ``x-switchboard-truncated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .schemas import (
    ANNOTATION_KEYWORDS,
    REQUEST,
    TRUNCATED_MARKER,
    approx_local_size,
    clean_schema,
    make_nullable,
    schema_type_hint,
)

RECURSIVE_MARKER = "x-switchboard-recursive"
EXTERNAL_MARKER = "x-switchboard-external-ref"

DEFAULT_MAX_SCHEMA_BYTES = 128 * 1024
DEFAULT_MAX_SCHEMA_DEPTH = 48
_MAX_REF_CHAIN = 32


class RefError(Exception):
    """A reference that cannot be followed: missing target, bad pointer, or a loop of refs."""

    def __init__(self, ref: Any, message: str) -> None:
        super().__init__(message)
        self.ref = ref
        self.message = message


class RemoteRefError(RefError):
    """A reference to another document, which is never fetched."""


def is_local_ref(ref: str) -> bool:
    return ref.startswith("#")


def pointer_tokens(ref: str) -> list[str]:
    """``"#/paths/~1pets~1{id}"`` -> ``["paths", "/pets/{id}"]`` (RFC 6901 in a URI fragment)."""
    pointer = unquote(ref[1:])  # the fragment may be percent-encoded, e.g. %7B for "{"
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise RefError(ref, f"'{ref}' is not a JSON pointer (it should start with '#/').")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


class RefResolver:
    """Looks up local references in one document, with a cache per reference string."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._cache: dict[str, Any] = {}

    def lookup(self, ref: Any) -> Any:
        if not isinstance(ref, str):
            raise RefError(ref, f"$ref must be a string, not {type(ref).__name__}.")
        try:
            return self._cache[ref]
        except KeyError:
            pass
        if not is_local_ref(ref):
            raise RemoteRefError(ref, f"external reference '{ref}' is not followed")
        node: Any = self.document
        for token in pointer_tokens(ref):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise RefError(ref, f"reference '{ref}' points to nothing in the document")
        self._cache[ref] = node
        return node

    def deref(self, node: Any) -> Any:
        """Follow a chain of ``$ref`` for a parameter, body, response or path item.

        Fields written next to ``$ref`` win over the target's (3.1 allows ``summary`` and
        ``description`` there; other siblings are kept too, as their author meant them).
        """
        seen: list[str] = []
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen or len(seen) >= _MAX_REF_CHAIN:
                raise RefError(ref, f"references loop back to themselves: {' -> '.join([*seen, str(ref)])}")
            seen.append(ref)
            target = self.lookup(ref)
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            if siblings and isinstance(target, dict):
                node = {**target, **siblings}
                if "$ref" in target:  # keep following the chain, still honouring these siblings
                    node["$ref"] = target["$ref"]
            else:
                node = target
        return node


@dataclass
class _Frame:
    ref: str
    index: int
    lowest_cut: int = 1 << 30  # lowest stack index of a recursion cut inside this expansion
    recursive_refs: set[str] = field(default_factory=set)
    external_refs: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _CacheEntry:
    schema: Any
    size: int  # approximate JSON bytes
    height: int  # levels of nesting below the schema itself
    truncated: bool  # cut short by the size budget or the depth limit
    depth_cut: bool
    recursive_refs: frozenset[str]
    external_refs: frozenset[str]


@dataclass
class _RefCache:
    complete: _CacheEntry | None = None  # expanded in full: usable wherever it fits
    # cut short: keyed by (budget, levels of depth that were left)
    partial: dict[tuple[int, int], _CacheEntry] = field(default_factory=dict)


@dataclass
class ExpansionContext:
    """Budget and findings for the schemas of one operation."""

    max_bytes: int = DEFAULT_MAX_SCHEMA_BYTES
    max_depth: int = DEFAULT_MAX_SCHEMA_DEPTH
    spent: int = 0  # approximate bytes produced so far
    truncations: int = 0  # placeholders for schemas left out (size or depth)
    depth_cuts: int = 0  # ... of which because of the depth limit
    recursive_refs: set[str] = field(default_factory=set)
    external_refs: set[str] = field(default_factory=set)
    invalid_nodes: int = 0  # schema positions holding something that is not a schema
    _deepest: int = 0
    _stack: list[_Frame] = field(default_factory=list)
    _active: dict[str, int] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        return self.truncations > 0


_MIN_BUDGET = 1024


def _budget_class(remaining: int, maximum: int) -> int:
    """The largest of maximum, 3/4 of it, 9/16 of it... that fits in ``remaining``.

    A referenced schema is expanded with one of these few budgets rather than with whatever
    happens to remain, so that expansions cut short by the budget can be memoised too:
    big shared schemas (a Kubernetes Deployment, a Stripe charge) are expanded a handful of
    times per document instead of once per operation.
    """
    budget = maximum
    while budget > max(remaining, 1):
        budget = budget * 3 // 4
    return max(budget, 1)


class SchemaExpander:
    """Inlines ``$ref``s in schemas and cleans them (see :func:`actions.spec.schemas.clean_schema`).

    One expander serves a whole document (in one ``mode``: request or response schemas) so
    that expansions of shared schemas are reused across operations. Results are shared
    between callers and must not be mutated.
    """

    def __init__(self, resolver: RefResolver, *, mode: str = REQUEST) -> None:
        self._resolver = resolver
        self._mode = mode
        self._cache: dict[str, _RefCache] = {}
        # Approximate bytes of schema built over the expander's life: what a caller watches
        # to keep a whole import within a time budget.
        self.work = 0

    def _clean(self, node: dict[str, Any], expand: Any) -> dict[str, Any]:
        return clean_schema(node, expand, mode=self._mode)

    def expand(self, schema: Any, context: ExpansionContext) -> Any:
        """The schema with every local reference inlined; raises :class:`RefError` for broken ones."""
        return self._expand(schema, context, 0)

    def _expand(self, node: Any, ctx: ExpansionContext, depth: int) -> Any:
        if isinstance(node, bool):
            ctx.spent += 5
            return node
        if not isinstance(node, dict):
            ctx.invalid_nodes += 1
            ctx.spent += 2
            return {}
        if depth > ctx.max_depth:
            ctx.depth_cuts += 1
            return self._truncated(node, ctx)
        if ctx.spent > ctx.max_bytes:
            return self._truncated(node, ctx)
        ref = node.get("$ref")
        if ref is not None:
            return self._expand_ref(node, ref, ctx, depth)
        if depth > ctx._deepest:
            ctx._deepest = depth
        child_depth = depth + 1
        out = self._clean(node, lambda child: self._expand(child, ctx, child_depth))
        size = approx_local_size(out)
        ctx.spent += size
        self.work += size
        return out

    def _expand_ref(self, node: dict[str, Any], ref: Any, ctx: ExpansionContext, depth: int) -> Any:
        if not isinstance(ref, str):
            raise RefError(ref, f"$ref must be a string, not {type(ref).__name__}.")
        if not is_local_ref(ref):
            ctx.external_refs.add(ref)
            if ctx._stack:
                ctx._stack[-1].external_refs.add(ref)
            result: Any = {"description": f"(external reference {ref} — not followed)", EXTERNAL_MARKER: ref}
            ctx.spent += len(ref) * 2 + 60
        elif ref in ctx._active:
            result = self._recursion_marker(ref, ctx)
        else:
            remaining = ctx.max_bytes - ctx.spent
            if remaining < _MIN_BUDGET:  # too little room left for a referenced schema
                return self._truncated(self._resolver.lookup(ref), ctx)
            budget = _budget_class(remaining, ctx.max_bytes)
            entry = self._cached(ref, ctx, depth, remaining, budget)
            if entry is None:
                entry = self._expand_new_ref(ref, ctx, depth, budget)
            self._insert(entry, ctx, depth)
            result = entry.schema
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if siblings:
            result = self._merge_siblings(result, siblings, ctx, depth)
        return result

    def _cached(self, ref: str, ctx: ExpansionContext, depth: int, remaining: int, budget: int) -> _CacheEntry | None:
        entries = self._cache.get(ref)
        if entries is None:
            return None
        complete = entries.complete
        if complete is not None and complete.size <= remaining and depth + complete.height <= ctx.max_depth:
            return complete
        return entries.partial.get((budget, ctx.max_depth - depth))

    def _expand_new_ref(self, ref: str, ctx: ExpansionContext, depth: int, budget: int) -> _CacheEntry:
        target = self._resolver.lookup(ref)
        frame = _Frame(ref=ref, index=len(ctx._stack))
        # Expanded on a budget of its own (one of a few sizes), independent of what the
        # enclosing schema has used up: the result can then be reused wherever it fits.
        saved = (ctx.spent, ctx.max_bytes, ctx.truncations, ctx.depth_cuts, ctx._deepest)
        ctx.spent, ctx.max_bytes, ctx._deepest = 0, budget, depth
        ctx._stack.append(frame)
        ctx._active[ref] = frame.index
        try:
            result = self._expand(target, ctx, depth)
        finally:
            ctx._stack.pop()
            del ctx._active[ref]
            measured = (ctx.spent, ctx.truncations != saved[2], ctx.depth_cuts != saved[3], ctx._deepest)
            # Findings are counted again where the result is inserted.
            ctx.spent, ctx.max_bytes, ctx.truncations, ctx.depth_cuts, ctx._deepest = saved
        size, truncated, depth_cut, deepest = measured
        entry = _CacheEntry(
            result,
            size,
            max(0, deepest - depth),
            truncated,
            depth_cut,
            frozenset(frame.recursive_refs),
            frozenset(frame.external_refs),
        )
        # The expansion is the same wherever the reference appears (with the same budget and
        # depth left) unless it cut a cycle at a reference that was open *outside* it.
        if frame.lowest_cut >= frame.index:
            entries = self._cache.setdefault(ref, _RefCache())
            if not truncated:
                entries.complete = entry
            else:
                entries.partial[(budget, ctx.max_depth - depth)] = entry
        if ctx._stack:
            parent = ctx._stack[-1]
            parent.lowest_cut = min(parent.lowest_cut, frame.lowest_cut)
        return entry

    def _insert(self, entry: _CacheEntry, ctx: ExpansionContext, depth: int) -> None:
        ctx.spent += entry.size
        ctx._deepest = max(ctx._deepest, depth + entry.height)
        if entry.truncated:
            ctx.truncations += 1
        if entry.depth_cut:
            ctx.depth_cuts += 1
        if entry.recursive_refs or entry.external_refs:
            ctx.recursive_refs |= entry.recursive_refs
            ctx.external_refs |= entry.external_refs
            if ctx._stack:
                ctx._stack[-1].recursive_refs |= entry.recursive_refs
                ctx._stack[-1].external_refs |= entry.external_refs

    def _recursion_marker(self, ref: str, ctx: ExpansionContext) -> dict[str, Any]:
        index = ctx._active[ref]
        ctx.recursive_refs.add(ref)
        if ctx._stack:
            top = ctx._stack[-1]
            top.lowest_cut = min(top.lowest_cut, index)
            top.recursive_refs.add(ref)
        ctx.spent += len(ref) * 2 + 80
        return {
            **schema_type_hint(self._resolver.lookup(ref)),
            "description": f"(recursive reference to {ref} — not expanded)",
            RECURSIVE_MARKER: ref,
        }

    def _truncated(self, node: dict[str, Any], ctx: ExpansionContext) -> dict[str, Any]:
        ctx.truncations += 1
        ctx.spent += 100
        return {
            **schema_type_hint(node),
            "description": "(not expanded: the schema is too large to show in full)",
            TRUNCATED_MARKER: True,
        }

    def _merge_siblings(self, result: Any, siblings: dict[str, Any], ctx: ExpansionContext, depth: int) -> Any:
        # Keywords next to $ref: JSON Schema 2020-12 applies both; many 3.0 specs put a
        # description or ``nullable`` there and mean exactly that.
        nullable = siblings.get("nullable") is True
        rest = {key: value for key, value in siblings.items() if key != "nullable"}
        cleaned = self._clean(rest, lambda child: self._expand(child, ctx, depth + 1)) if rest else {}
        ctx.spent += approx_local_size(cleaned)
        if not cleaned:
            merged = result
        elif isinstance(result, dict) and set(rest) <= ANNOTATION_KEYWORDS:
            merged = {**result, **cleaned}
        else:
            merged = {**cleaned, "allOf": [result, *cleaned.get("allOf", [])]}
        if nullable and isinstance(merged, dict):
            merged = make_nullable(merged)
        return merged
