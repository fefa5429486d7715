"""What a fleet raises: the supervisor's errors, apart so that its control endpoint can map
them to HTTP statuses without importing the supervisor."""

from __future__ import annotations


class FleetError(RuntimeError):
    """The fleet could not do what was asked; the message says what and, where it can, why."""


class NoSuchCamera(FleetError):
    """The fleet has no camera with the id asked for."""
