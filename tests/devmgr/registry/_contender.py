"""A separate process doing one registry action at the same moment as others.

    GO_FILE=... python -m tests.devmgr.registry._contender URL JOB [ARG]

JOB:
  open              open the registry (creating it if it is new); print its schema version
  snapshot COUNT    store the same COUNT JPEGs as every other contender; print their digests
  lease KEY HOLD_S  take the head's lease (trying again until it is free), print "acquired
                    <time>", hold it HOLD_S seconds, print "released <time>" and release it
  hold KEY TTL_S    take the lease for TTL_S seconds, print "held", then sleep (to be killed)
"""

from __future__ import annotations

import os
import sys
import time

from devmgr.registry import Lease, LeaseHeld, Registry
from tests.devmgr.registry._together import wait_for_go


def _take(registry: Registry, key: str, ttl_s: float) -> Lease:
    deadline = time.monotonic() + 60
    while True:
        try:
            return registry.acquire_lease(key, purpose=f"contender {os.getpid()}", ttl_s=ttl_s)
        except LeaseHeld:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def main(argv: list[str]) -> int:
    url, job = argv[0], argv[1]
    wait_for_go()
    with Registry.open(url) as registry:
        if job == "open":
            print(registry.schema_version, flush=True)
        elif job == "snapshot":
            for n in range(int(argv[2])):
                print(registry.put_snapshot(b"\xff\xd8 the same view %d" % n), flush=True)
        elif job == "lease":
            lease = _take(registry, argv[2], ttl_s=60.0)
            print(f"acquired {time.time()}", flush=True)
            time.sleep(float(argv[3]))
            print(f"released {time.time()}", flush=True)
            registry.release_lease(lease)
        elif job == "hold":
            _take(registry, argv[2], ttl_s=float(argv[3]))
            print("held", flush=True)
            time.sleep(600)
        else:
            raise SystemExit(f"unknown job {job!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
