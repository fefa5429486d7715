"""``python -m devmgr``: see ``devmgr.cli``."""

from devmgr.cli import main

main()
