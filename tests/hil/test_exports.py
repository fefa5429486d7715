"""The package's public surface, and a plugin that costs nothing where no camera is tested."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import hil

pytest_plugins = ["pytester"]


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



def test_the_entry_point_module_carries_every_hook_and_fixture(
        pytester: pytest.Pytester) -> None:
    """pytest registers ``hil.plugin`` only: a hook or fixture added to :mod:`hil.hooks` or
    :mod:`hil.fixtures` and not gathered there would silently never run."""
    import hil.fixtures  # noqa: PLC0415
    import hil.hooks  # noqa: PLC0415
    import hil.plugin  # noqa: PLC0415

    hooks = {name for name in vars(hil.hooks) if name.startswith("pytest_")}
    assert len(hooks) > 10
    assert not (hooks | set(hil.fixtures.__all__)) - set(vars(hil.plugin))
    listed = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:asyncio",
                                "--fixtures").stdout.str()
    public = [name for name in hil.fixtures.__all__ if not name.startswith("_")]
    assert [name for name in public
            if not re.search(rf"^{name} .*hil/fixtures\.py:\d+$", listed, re.MULTILINE)] == []
