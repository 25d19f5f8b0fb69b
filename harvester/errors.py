"""The errors harvester reports to its users; the CLI maps each to a message and exit code 1."""

from __future__ import annotations


class HarvesterError(Exception):
    """Base of every error harvester reports without a traceback."""


class ConfigError(HarvesterError):
    """A flag or environment value is unusable (bad endpoint URL, bad page size)."""


class CatalogError(HarvesterError):
    """The catalog cannot be opened, written or migrated."""


class CatalogTooNew(CatalogError):
    """The catalog was written by a newer harvester; it is left untouched."""


class HubError(HarvesterError):
    """The Hub refused a request in a way retrying cannot fix (4xx other than 429)."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class HubUnavailable(HubError):
    """The Hub kept failing transiently until the retry budget ran out."""


class MalformedResponse(HubError):
    """The Hub answered with something that is not a listing page."""


class Interrupted(HarvesterError):
    """The run was stopped by a signal after its last committed page."""
