"""``python -m simulators``: see ``simulators.cli``."""

from simulators.cli import main

raise SystemExit(main())
