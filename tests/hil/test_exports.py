"""The package's public surface, and a plugin that costs nothing where no camera is tested."""

from __future__ import annotations

import subprocess
import sys

import hil


def test_every_export_resolves() -> None:
    for name in hil.__all__:
        assert getattr(hil, name) is not None, name


def test_loading_the_plugin_leaves_the_client_unimported() -> None:
    """pytest loads ``hil.plugin`` in every run of the environment (entry point pytest11)."""
    probe = ("import sys, hil.plugin; "
             "print(sorted(m for m in ('aiohttp', 'zeep', 'simulators', 'devmgr.onvif.session') "
             "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
