"""Fleets of simulated cameras: generated or described, each camera at its own address.

* :mod:`simulators.fleet.generate`: deterministic generated fleets and fleet files;
* :mod:`simulators.fleet.fleet`: ``Fleet``, the supervisor (workers, manifest, control API);
* :mod:`simulators.fleet.worker`: a process hosting a shard of the cameras;
* :mod:`simulators.fleet.control`: the HTTP/JSON control endpoint;
* :mod:`simulators.fleet.errors`: what the supervisor raises (the endpoint maps it to HTTP);
* :mod:`simulators.fleet.netns`: one Linux network namespace per camera, all on one bridge
  (root only; no Docker needed);
* :mod:`simulators.fleet.docker_backend`: one Docker container per camera (needs a daemon);
  :mod:`~simulators.fleet.docker_image` builds its image here, without a registry;
  :mod:`~simulators.fleet.docker_daemon` finds the (local) daemon;
  :mod:`~simulators.fleet.link` is the authenticated link its workers dial back on.

Importing this package imports nothing heavy and opens nothing.
"""
