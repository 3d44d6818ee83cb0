"""Importing a large OpenAPI spec end to end through the import service.

Starts embedded PostgreSQL and Redis in .data/bench/actions (stopped again at the end), migrates,
then times `actions.importing.action_import` — read, parse, build rows, one transaction with
`bulk_create` — on:

  synthetic  a generated 5 MB spec with 1,000 operations over 200 shared, partly recursive schemas
  stripe     the real Stripe spec from tests/fixtures/openapi (4.2 MB, 417 operations)

and re-importing the synthetic spec unchanged (every operation matched, nothing written) and with
every operation's description changed (1,000 rows updated in bulk, ids kept).
Budget: ≤ 3 s for the 5 MB / 1,000-operation import.

Run:  .venv/bin/python -m bench.action_import [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path

from bench.services import start_services, stop_services, use_data_dir

ROOT = Path(__file__).resolve().parents[1]

DATA_DIR = use_data_dir("actions")


def timed(label: str, runs: int, work) -> list[float]:
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    print(
        f"  {label:<50} median {statistics.median(times):6.2f} s   min {min(times):6.2f} s   "
        f"max {max(times):6.2f} s   ({runs} runs)"
    )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    started = start_services()
    try:
        from accounts.models import Workspace
        from actions.importing import SpecSource, action_import, action_reimport
        from actions.models import Action, Operation, SourceKind
        from actions.spec import parse_spec_text
        from tests.actions.synthetic import synthetic_spec_text

        workspace = Workspace.objects.create(name=f"bench-{time.time_ns()}")
        synthetic = synthetic_spec_text(operations=1000, target_bytes=5 * 1024 * 1024)
        stripe = (ROOT / "tests" / "fixtures" / "openapi" / "stripe-spec3.json").read_text()
        print(
            f"synthetic spec: {len(synthetic.encode()) / 1048576:.2f} MB, 1000 operations; "
            f"stripe spec: {len(stripe.encode()) / 1048576:.2f} MB"
        )

        imported: list[Action] = []

        def run_import(text: str):
            def work():
                outcome = action_import(workspace=workspace, source=SpecSource(kind=SourceKind.TEXT, text=text))
                imported.append(outcome.action)

            return work

        print("results:")
        parse_times = timed("parse only (synthetic, no database)", args.runs, lambda: parse_spec_text(synthetic))
        import_times = timed("import service end to end (synthetic)", args.runs, run_import(synthetic))
        count = Operation.objects.filter(action=imported[-1]).count()
        assert count == 1000, count
        timed("import service end to end (stripe)", args.runs, run_import(stripe))
        target = imported[0]
        changed = synthetic.replace('"Does something useful. ', '"Does something else. ')
        versions = iter([changed, synthetic] * args.runs)
        timed(
            "re-import, nothing changed (1000 matched)",
            args.runs,
            lambda: action_reimport(
                action=Action.objects.get(pk=target.pk), source=SpecSource(kind=SourceKind.TEXT, text=synthetic)
            ),
        )
        timed(
            "re-import, every operation changed (1000 updated)",
            args.runs,
            lambda: action_reimport(
                action=Action.objects.get(pk=target.pk), source=SpecSource(kind=SourceKind.TEXT, text=next(versions))
            ),
        )
        median = statistics.median(import_times)
        print(
            f"\nbudget: 5 MB / 1,000 operations imported in ≤ 3 s -> median {median:.2f} s "
            f"({'OK' if median <= 3 else 'OVER'}); of which parsing {statistics.median(parse_times):.2f} s"
        )
        Action.objects.filter(workspace=workspace).delete()
        workspace.delete()
    finally:
        stop_services(started)


if __name__ == "__main__":
    main()
