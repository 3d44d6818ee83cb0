"""The overview's "Get started" list: which steps a workspace has done.

Each app registers the check of its own step in its AppConfig.ready(), so the overview (in this
floor package) knows no app above it.
"""

from __future__ import annotations

from collections.abc import Callable

_checks: dict[str, Callable[[str], bool]] = {}


def register(step: str, done: Callable[[str], bool]) -> None:
    """`done(workspace_id)` says whether the workspace has done `step`."""
    _checks[step] = done


def progress(workspace_id: str) -> dict[str, bool]:
    return {step: done(workspace_id) for step, done in _checks.items()}
