"""camfleet's acceptance suite: run it against real cameras or a simulated fleet, unchanged.

    pytest --pyargs hil.suite --hil-targets site.yaml --hil-report out/
    pytest --pyargs hil.suite --hil-fleet sim:20 -n 2

Test names follow the ONVIF Device Test Tool's IDs where a test covers the same ground
(``test_DISCOVERY_1_1_6_unicast_probe``), so a report reads alongside the official one;
camfleet's own checks (accuracy, repeatability, clock offset, filing consistency) are prefixed
``CAMFLEET``. Tests that change a camera's configuration carry ``hil_changes_config`` and are
skipped with ``--hil-read-only``; PTZ tests put the camera back where they found it.
"""
