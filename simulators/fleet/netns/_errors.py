"""The one error the namespace backend raises."""

from __future__ import annotations


class NetnsError(RuntimeError):
    """A namespace fleet could not be created, checked or entered."""
