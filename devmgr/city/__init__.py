"""The city: sweeps and audits run by collectors in each district, on Celery.

One machine serves a site; a city's cameras sit in district networks that cannot reach each
other, so a *collector* sits in each one (what LibreNMS poller groups and Zabbix proxies
do) and every result flows to the one registry (PostgreSQL for the city):

    devmgr collector --queue hongshan --registry postgresql+psycopg://...   # in each district
    devmgr audit --distributed --targets city.json --registry postgresql+psycopg://...

* :mod:`~devmgr.city.work`: the work of one camera (its inventory, its audit), run by a
  collector with the library's own functions, recorded into the coordinator's sweep;
* :mod:`~devmgr.city.app`: the Celery application, its delivery settings and the tasks;
* :mod:`~devmgr.city.coordinator`: fans a sweep out in batches of cameras, one queue per
  district, and follows it to the end in the registry;
* :mod:`~devmgr.city.spool`: what a collector keeps while the registry is away.

Delivery is at least once and recording idempotent: a task is acknowledged only when its
camera is recorded (``acks_late``), a collector that dies has its tasks re-delivered
(``reject_on_worker_lost``), and a camera already recorded in the sweep is not recorded
again (the registry checks under a lock), so a sweep ends with exactly one result per camera.

Messages carry no secret: a target's inline passwords and communities are removed before it
is sent, and a collector takes them from its own copy of the targets file
(``--targets``) or from the environment variables the targets file names.
"""

from devmgr.city.work import DEFAULT_QUEUE, queue_of

__all__ = ["DEFAULT_QUEUE", "queue_of"]
