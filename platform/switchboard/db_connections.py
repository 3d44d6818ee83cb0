"""Database connections around long waits, in processes that share a connection pool.

A chat worker holds hundreds of turns at once in green threads, and each would keep a database
connection for as long as it lives if nothing gave it back; most of that time is spent waiting
for a model or a target API. Code about to wait, and every task when it ends, calls
`release_pooled_connections()`: a pooled connection goes back to the pool and the next query
takes one again (a hand-over costs microseconds). A process with one persistent connection of
its own (the ingest worker) keeps it: there is nobody to give it to, and reconnecting costs a new
PostgreSQL backend.
"""

from __future__ import annotations

from django.db import connections


def release_pooled_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.settings_dict.get("OPTIONS", {}).get("pool") and not connection.in_atomic_block:
            connection.close()
