"""What the registry raises, and how database URLs are shown in messages.

Error tree::

    RegistryError              the registry could not do what was asked; the message names
     |                         the registry (URL, password masked) and the cause
     +-- SchemaVersionError    the database was written by a newer camfleet (upgrade camfleet)
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL

__all__ = ["RegistryError", "SchemaVersionError", "mask_url"]

# Catches the password of "scheme://user:password@host" in strings SQLAlchemy could not parse:
# those still end up in messages, and a typo must not print a team's database password.
_PASSWORD_RE = re.compile(r"(?P<head>(?:[a-z][a-z0-9+.\-]*)?://[^:/@\s]*:)[^@\s]*(?P<tail>@)",
                          re.IGNORECASE)


class RegistryError(Exception):
    """The registry could not be opened, read or written; the message says which and why."""


class SchemaVersionError(RegistryError):
    """The database was written by a newer camfleet than this one; upgrade camfleet to use it."""


def mask_url(url: URL | str) -> str:
    """``url`` for messages and logs, with any password replaced by ``***``."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return _PASSWORD_RE.sub(r"\g<head>***\g<tail>", url)
