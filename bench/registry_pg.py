"""The registry under load: several processes appending audit-log entries and storing
snapshots at once, on PostgreSQL and, for comparison, on SQLite.

    python bench/registry_pg.py                          # 4 processes, 500 entries each
    python bench/registry_pg.py --processes 8 --entries 1000 --batch 1 25

Each process appends ``--entries`` audit-log entries (``--batch`` per transaction: 1 is how
an audit logs a configuration read, 25 roughly how it logs a camera's snapshots) and stores
``--snapshots`` JPEG-sized blobs, half of them the same in every process (two runs
photographing one view) and half its own. Afterwards the log must verify, hold every entry
exactly once (seq 1..N without a gap, each process's entries in its order) and the snapshot
store every distinct blob once. PostgreSQL runs in a fresh schema of ``--postgresql``
(dropped afterwards); SQLite in a temporary file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import make_url

from devmgr.registry import Registry, Retrieval

BLOB = 60_000  # bytes: a small JPEG


def blob(tag: str, n: int) -> bytes:
    head = f"{tag}:{n}:".encode()
    return head + bytes(BLOB - len(head))


def worker(url: str, name: str, *, entries: int, batch: int, snapshots: int,
           go: Path) -> None:
    with Registry.open(url) as registry:
        print("ready", flush=True)
        while not go.exists():
            time.sleep(0.001)
        blobs = [blob("shared" if k % 2 == 0 else name, k) for k in range(snapshots)]
        starts = range(0, entries, batch)
        for i, start in enumerate(starts):  # a snapshot between transactions, while they last
            registry.log_retrievals(Retrieval(
                who=name, how="onvif:GetSnapshotUri+http-digest", purpose="load benchmark",
                destination="registry", target_id=f"cam-{n % 97:04d}",
                address=f"192.0.2.{n % 97 + 1}", what=f"{name} #{n}")
                for n in range(start, min(start + batch, entries)))
            if i < snapshots:
                registry.put_snapshot(blobs[i])
        for data in blobs[len(starts):]:
            registry.put_snapshot(data)
    print("done", flush=True)


def run(url: str, processes: int, entries: int, batch: int, snapshots: int) -> dict[str, float]:
    Registry.open(url).close()  # the owner creates the schema first, as in production
    with tempfile.TemporaryDirectory() as tmp:
        go = Path(tmp) / "go"
        names = [f"proc-{i}" for i in range(processes)]
        procs = [subprocess.Popen(
            [sys.executable, __file__, "--worker", url, name, str(entries), str(batch),
             str(snapshots), str(go)], stdout=subprocess.PIPE, text=True) for name in names]
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit(f"a worker failed to start: {proc.args}")
        began = time.perf_counter()
        go.touch()
        codes = [proc.wait() for proc in procs]
        elapsed = time.perf_counter() - began
    if codes != [0] * processes:
        raise SystemExit(f"workers failed: exit codes {codes}")
    with Registry.open(url) as registry:
        verified = registry.verify_audit_log()
        log = registry.audit_entries()
        stored = {digest for n in range(snapshots) for digest in
                  [registry.snapshot(_digest(blob("shared" if n % 2 == 0 else name, n)))
                   for name in names]}
    total = processes * entries
    seqs = [e.seq for e in log]
    lost = total - len(set(seqs))
    duplicated = len(seqs) - len(set(seqs))
    in_order = all([e.what for e in log if e.who == name]
                   == [f"{name} #{n}" for n in range(entries)] for name in names)
    distinct = (snapshots + 1) // 2 + processes * (snapshots // 2)
    ok = (verified.ok and seqs == list(range(1, total + 1)) and in_order
          and None not in stored and len(stored) == distinct)
    return {"elapsed_s": elapsed, "entries_per_s": total / elapsed, "lost": lost,
            "duplicated": duplicated, "verified": float(verified.ok), "ok": float(ok),
            "snapshots": float(len(stored))}


def _digest(data: bytes) -> str:
    from devmgr.registry import snapshot_digest  # noqa: PLC0415

    return snapshot_digest(data)


def postgresql_schema(admin: str) -> tuple[str, str]:
    """A new schema on ``admin``'s database, and the registry URL on it."""
    import psycopg  # noqa: PLC0415

    url = make_url(admin)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(host=url.host, port=url.port or 5432, dbname=url.database,
                         user=url.username, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, url.update_query_dict({"options": f"-csearch_path={schema}"}) \
        .render_as_string(hide_password=False)


def drop_schema(admin: str, schema: str) -> None:
    import psycopg  # noqa: PLC0415

    url = make_url(admin)
    with psycopg.connect(host=url.host, port=url.port or 5432, dbname=url.database,
                         user=url.username, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, name, entries, batch, snapshots, go = sys.argv[2:8]
        worker(url, name, entries=int(entries), batch=int(batch), snapshots=int(snapshots),
               go=Path(go))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--entries", type=int, default=500, help="per process")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 25],
                        help="entries per transaction (one run each)")
    parser.add_argument("--snapshots", type=int, default=40, help="per process")
    parser.add_argument("--postgresql", default=os.environ.get(
        "CAMFLEET_TEST_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    print(f"{args.processes} processes x {args.entries} audit-log entries and "
          f"{args.snapshots} snapshots ({BLOB // 1000} kB, half shared)")
    print(f"{'backend':<11} {'batch':>5} {'seconds':>8} {'entries/s':>10} {'lost':>5} "
          f"{'dup':>4} {'chain':>6} {'snapshots':>9}")
    failed = False
    for batch in args.batch:
        for backend in ("postgresql", "sqlite"):
            with tempfile.TemporaryDirectory() as tmp:
                schema = ""
                if backend == "postgresql":
                    schema, url = postgresql_schema(args.postgresql)
                else:
                    url = str(Path(tmp) / "registry.sqlite")
                try:
                    r = run(url, args.processes, args.entries, batch, args.snapshots)
                finally:
                    if schema:
                        drop_schema(args.postgresql, schema)
            failed |= not r["ok"]
            print(f"{backend:<11} {batch:>5} {r['elapsed_s']:>8.2f} {r['entries_per_s']:>10.0f} "
                  f"{r['lost']:>5.0f} {r['duplicated']:>4.0f} "
                  f"{'ok' if r['verified'] else 'BROKEN':>6} {r['snapshots']:>9.0f}"
                  + ("" if r["ok"] else "  <- FAILED"), flush=True)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
