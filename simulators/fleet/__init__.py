"""Backends that run fleets of simulated cameras on real network segments.

* :mod:`simulators.fleet.netns`: one Linux network namespace per camera, all on one bridge
  (root only; no Docker needed);
* :mod:`simulators.fleet.docker_backend`: one Docker container per camera (needs a Docker
  daemon).

Nothing is imported here, so ``import simulators.fleet`` stays free of side effects.
"""
