"""camfleet's acceptance suite: run it against real cameras or a simulated fleet, unchanged.

    pytest --pyargs hil.suite --hil-targets site.yaml --hil-report out/
    pytest --pyargs hil.suite --hil-fleet sim:20 -n 2

A test named after an official ONVIF test ID (``test_DISCOVERY_1_1_6_unicast_probe``) runs that
case's procedure and pass criteria as its device test specification states them, and declares
so with :func:`hil.spec.conformance` (the source of ``docs/onvif-traceability.md``); camfleet's
own checks (accuracy, repeatability, clock offset, filing consistency, anything stricter than
an official case) are prefixed ``CAMFLEET``. What a test does to a camera is marked:
``hil_changes_config`` and ``hil_reboots`` (skipped with ``--hil-read-only``),
``hil_auth_failures`` (refused logins, counted), ``hil_moves_head`` (skipped with
``--hil-no-move``; the head is put back where it rested).
"""
