"""A child process recording every camera's audit result into one sweep, for the tests of
recording once (``python -m tests.devmgr.registry._recorder URL SWEEP COUNT SEED``)."""

from __future__ import annotations

import random
import sys

from devmgr.compliance.model import CameraAudit
from devmgr.registry import Registry, SweepId
from tests.devmgr.registry._together import wait_for_go


def main() -> None:
    url, sweep, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    cameras = [f"cam-{n}" for n in range(count)]
    random.Random(seed).shuffle(cameras)
    with Registry.open(url) as registry:
        wait_for_go()
        new = sum(registry.record_audit_results(SweepId(sweep), [(
            camera, "compliant", CameraAudit(camera=camera, status="compliant"))])
            for camera in cameras)
    print(new, flush=True)


if __name__ == "__main__":
    main()
