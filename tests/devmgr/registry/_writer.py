"""A separate process writing a sweep, for the crash and concurrency tests.

    python -m tests.devmgr.registry._writer DB MODE COUNT BATCH SWEEP_NO

MODE:
  complete   record COUNT inventories and finish the sweep; print "done <sweep id>".
  pause      after the 3rd batch's observations are INSERTed, but before that batch commits,
             print "paused" and sleep: the parent SIGKILLs us mid-transaction.
  free       record batch after batch, printing "committed <n>" after each commit, never
             finishing: the parent SIGKILLs us wherever we happen to be.

With GO_FILE in the environment, the writer prints "ready" and waits for that file before it
opens the registry, so that several writers create, then write, one database at once.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from sqlalchemy import Engine, event

from devmgr.registry import Registry
from tests.devmgr.registry._together import wait_for_go
from tests.devmgr.registry.factories import make_inventory


def _pause_at_insert(number: int) -> None:
    seen = 0

    # Registered on the Engine class: applies to the registry's engine without reaching in.
    def after_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal seen
        if statement.lstrip().upper().startswith("INSERT INTO OBSERVATIONS"):
            seen += 1
            if seen == number:
                print("paused", flush=True)
                time.sleep(120)

    event.listen(Engine, "after_cursor_execute", after_execute)


def main(argv: list[str]) -> int:
    db, mode, count, batch, sweep_no = argv[0], argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    invs = [make_inventory(i % count, sweep=sweep_no) for i in range(count)]
    if "GO_FILE" in os.environ:
        wait_for_go()
    registry = Registry.open(db, batch_size=batch)
    sweep_id = registry.begin_sweep("inventory", {"writer": os.getpid(), "mode": mode})
    print(f"sweep {sweep_id}", flush=True)
    if mode == "pause":
        _pause_at_insert(3)
    if mode == "free":
        for n in range(10_000):
            registry.record_inventories(sweep_id, invs[:batch])
            print(f"committed {n + 1}", flush=True)
    registry.record_inventories(sweep_id, invs)
    registry.finish_sweep(sweep_id)
    print(f"done {sweep_id}", flush=True)
    registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
