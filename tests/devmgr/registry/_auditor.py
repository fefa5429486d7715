"""A separate process appending to the audit log, for the concurrency test.

    GO_FILE=... python -m tests.devmgr.registry._auditor URL COUNT WHO

Prints "ready", waits for the file GO_FILE (so that the appenders start together), then
appends COUNT entries, one transaction each, and prints "done".
"""

from __future__ import annotations

import sys

from devmgr.registry import Registry
from tests.devmgr.registry._together import wait_for_go


def main(argv: list[str]) -> int:
    db, count, who = argv[0], int(argv[1]), argv[2]
    wait_for_go()
    with Registry.open(db) as registry:
        for n in range(count):
            registry.log_retrieval(
                who=who, how="onvif:GetSnapshotUri+http-digest", purpose="compliance audit",
                destination=f"reports/{who}/{n}.jpg", target_id=f"cam-{n % 7:04d}",
                address=f"192.0.2.{n % 7 + 10}", what=f"snapshot {who} #{n}")
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
