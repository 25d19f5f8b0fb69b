"""The errors harvester reports to its users, each with the exit code the CLI ends with.

Exit codes: 0 ok (nothing to do included), 1 failed, 2 bad usage or configuration, 3 the Hub
stayed unavailable through every retry, 4 the catalog is from a newer harvester, 5 another run
holds the scope's lock, 130 interrupted.
"""

from __future__ import annotations

from typing import Any


class HarvesterError(Exception):
    """Base of every error harvester reports without a traceback. ``run`` is the record of the
    sync run it ended, once that run was recorded."""

    exit_code = 1
    run: dict[str, Any] | None = None


class ConfigError(HarvesterError):
    """A flag or environment value is unusable (bad endpoint URL, bad page size)."""

    exit_code = 2


class CatalogError(HarvesterError):
    """The catalog cannot be opened, written or migrated."""


class QueryRefused(CatalogError):
    """The SQL tried to change the catalog, or failed; nothing was changed."""

    exit_code = 2


class ClockSkew(CatalogError):
    """This machine's clock and the catalog's last page disagree by more than clocks kept in time can."""


class CatalogTooNew(CatalogError):
    """The catalog was written by a newer harvester; it is left untouched."""

    exit_code = 4


class RepoNotFound(HarvesterError):
    """The repo is in the catalog neither under that id nor under an id it had before a rename
    (nor, for `uses`, named by any edge)."""


class HubError(HarvesterError):
    """The Hub refused a request in a way retrying cannot fix (4xx other than 429)."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class HubUnavailable(HubError):
    """The Hub kept failing transiently until the retry budget ran out."""

    exit_code = 3


class HubUnreachable(HubUnavailable):
    """The endpoint cannot be reached in a way retrying will not fix: an unknown host, a TLS
    handshake or certificate that fails. Reported at once, with what to check."""


class MalformedResponse(HubError):
    """The Hub answered with something that is not a listing page."""


class Interrupted(HarvesterError):
    """The run was stopped by a signal after its last committed page."""

    exit_code = 130


class Locked(HarvesterError):
    """Another run holds the scope's lock (and kept holding it for as long as this one would wait)."""

    exit_code = 5


class LockLost(HarvesterError):
    """This run's lock expired and another run took it over: this run stops before writing again."""


class MissingExtra(ConfigError):
    """An optional part of harvester is not installed; the message ends in the ``pip install`` that adds it.

    ``what`` says what needs which package, as in ``OpenMetrics needs prometheus-client``; ``extra`` names the
    extra of the ``hf-harvester`` package that installs it (``parquet``, ``metrics``, ``serve``, ``postgres``).
    """

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what}: pip install 'hf-harvester[{extra}]'")
        self.extra = extra


class MissingDriver(MissingExtra, CatalogError):
    """The catalog's database driver is not installed: the catalog cannot be opened (exit 1, as for any
    catalog that cannot be opened), and the message says which extra installs the driver."""

    exit_code = 1
