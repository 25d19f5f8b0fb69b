"""The Hub client, built from the huggingface_hub client's own pieces: listing pages, repo pages
and files, each fetched under the one retry policy (the walk over pages: `hub.walker`).

`list_models` hides its cursor, so harvester walks pages itself with the client's session
(`get_session`), its headers (`build_hf_headers`: token and user agent) and its error types
(`hf_raise_for_status`). Each page comes with the next-page URL it carried, which is the
cursor a sync checkpoints. Next links are followed as given, except that ``limit`` is set to the
current page size (a 504 halves it) and a link to another host is refused: the token must never
leave the endpoint it was meant for.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import httpx2
import orjson
from huggingface_hub.errors import (
    DisabledRepoError,
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
)
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from .. import __version__
from ..errors import HubError, HubUnavailable, HubUnreachable, MalformedResponse
from ..state import RunStats
from .expand import Expand, with_expand
from .retry import TRANSIENT_STATUS, Pacer, RetryPolicy, TransientError, retry_after_seconds

T = TypeVar("T")
log = logging.getLogger("harvester")

MAX_PAGE_SIZE = 1000  # the Hub's cap for listings
MIN_PAGE_SIZE = 10  # the floor a 504 can shrink pages to

OFFLINE = "offline, `harvester emulator` serves a local Hub to try harvester with"
HINTS = {
    400: "if the walk resumed from an old cursor, `harvester state reset` starts it over",
    401: "check the token (--token, HF_TOKEN or `hf auth login`)",
    403: "the token lacks access to this listing",
    404: "check --endpoint: it does not look like a Hub",
}


@dataclass(frozen=True)
class Page:
    """One listing page: its items, the URL it came from, and the next page's URL if any."""

    items: list[Any]
    url: str
    next_url: str | None
    page_size: int
    requested_at: datetime | None = None  # when the request that served it was sent (this machine's clock)


def with_limit(url: str, page_size: int) -> str:
    """``url`` asking for pages of ``page_size`` rows, every other parameter kept in order."""
    parts = urlsplit(url)
    params = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "limit"]
    return urlunsplit(parts._replace(query=urlencode([*params, ("limit", str(page_size))])))


def listing_url(endpoint: str, kind: str, params: list[tuple[str, str]]) -> str:
    """The first page's URL of a listing."""
    return f"{endpoint}/api/{kind}?{urlencode(params)}"


def repo_url(endpoint: str, kind: str, repo_id: str, *, blobs: bool = True) -> str:
    """One repo's page with every property and, with ``blobs``, file sizes, as
    ``model_info(files_metadata=True)`` asks."""
    return f"{endpoint}/api/{kind}/{quote(repo_id, safe='/')}" + ("?blobs=true" if blobs else "")


def file_url(endpoint: str, kind: str, repo_id: str, revision: str, path: str) -> str:
    """A file of a repo at a revision, as ``hf_hub_url`` builds it (``datasets/`` or ``spaces/`` first)."""
    prefix = "" if kind == "models" else f"{kind}/"
    return f"{endpoint}/{prefix}{quote(repo_id, safe='/')}/resolve/{quote(revision, safe='')}/{quote(path)}"


@dataclass(frozen=True)
class FileAnswer:
    """A file download's outcome: its bytes, or why there are none."""

    state: str  # "file"; "missing": no such file (or revision) at that commit; "refused": 401/403, gated or disabled
    body: bytes | None = None
    error: str | None = None  # the Hub's error code (GatedRepo, RepoNotFound, ...) or the HTTP status


MAX_REDIRECTS = 5  # a renamed repo's old id answers one 307


def answered(request: Callable[[], object]) -> bool:
    """Whether the Hub answers ``request`` rather than refuse it with 400 (the test of an expand
    value); any other error is raised."""
    try:
        request()
    except HubError as exc:
        if exc.status == 400:
            return False
        raise
    return True


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


class HubClient:
    """Fetches listing pages and repo pages from one endpoint, retrying transient failures and
    counting requests."""

    def __init__(self, endpoint: str, *, token: str | None, policy: RetryPolicy, stats: RunStats,
                 timeout: float = 60.0, pacer: Pacer | None = None) -> None:
        self.endpoint = endpoint
        self.policy = policy
        self.stats = stats
        self.timeout = timeout
        self.pacer = pacer or Pacer()
        self._headers = build_hf_headers(token=token, library_name="harvester", library_version=__version__)
        self._session = get_session()
        self.answered = False  # whether anything at the endpoint has answered a request of this client yet
        self.expand: Expand | None = None  # a walk of field groups: what every listing page asks for

    def fetch_page(self, url: str, page_size: int) -> Page:
        """One page at ``url`` (asking for ``self.expand`` when set), with retries; a 504 halves
        the page size and retries the same cursor; a 400 that a refused `expand` value explains
        drops that value (`Expand.drop_refused`) and asks again.

        Raises:
            HubError: a 4xx other than 429 (not retried) that no refused value explains.
            HubUnavailable: transient failures outlasted the retry budget.
            MalformedResponse: the body kept failing to be a listing.
        """
        while True:
            try:
                return self._fetch_page(url if self.expand is None else self.expand.url(url), page_size)
            except HubError as exc:
                if exc.status != 400 or self.expand is None or not self.expand.drop_refused(
                        lambda values: self._accepts(url, values)):
                    raise

    def cursor_key(self, url: str) -> str:
        """What tells one page of a walk from another, whatever its page size and `expand` values."""
        return with_limit(with_expand(url, ()), 1)

    def _accepts(self, url: str, values: tuple[str, ...]) -> bool:
        """Whether a one-row page at ``url`` asking for ``values`` is answered (not refused with 400)."""
        probe = with_limit(with_expand(url, values), 1)
        return answered(lambda: self._with_retries(lambda: self._get(probe, 1), probe, on_retry=lambda error: None))

    def same_origin(self, url: str) -> bool:
        return _origin(url) == _origin(self.endpoint)

    def _fetch_page(self, url: str, page_size: int) -> Page:
        size = [page_size]

        def attempt() -> Page:
            return self._get(with_limit(url, size[0]), size[0])

        def on_retry(error: TransientError) -> None:
            if error.status == 504:
                size[0] = max(MIN_PAGE_SIZE, size[0] // 2)

        return self._with_retries(attempt, url, on_retry=on_retry)

    def fetch_repo(self, url: str) -> Any | None:
        """One repo's JSON object at ``url``, with retries; None when the Hub says it does not exist
        or is disabled.

        Raises:
            HubError: a 4xx other than 429 and "repository not found" (not retried).
            HubUnavailable: transient failures outlasted the retry budget.
            MalformedResponse: the body kept failing to be a JSON object.
        """

        def attempt() -> Any | None:
            try:
                body, _ = self._get_json(url)
            except HubError as exc:
                # The Hub's own "no such repo" (deleted, private, or never there) or "disabled", not a
                # wrong endpoint's 404: there is nothing to fetch, and the other repos go on.
                if isinstance(exc.__cause__, RepositoryNotFoundError | DisabledRepoError):
                    return None
                raise
            if not isinstance(body, dict):
                raise TransientError(f"the response is a JSON {type(body).__name__}, not an object", malformed=True)
            return body

        return self._with_retries(attempt, url, on_retry=lambda error: None)

    def fetch_file(self, url: str) -> FileAnswer:
        """A file's bytes at ``url`` (a ``/resolve/`` URL), with retries and redirects followed within
        the endpoint (a renamed repo's old id); a 404, 401 or 403 that names the repo, the file, its
        gating or its disabling is an answer, not an error.

        Raises:
            HubError: a redirect to another host, too many redirects, or another refusal (a bad token).
            HubUnavailable: transient failures outlasted the retry budget.
        """

        def attempt() -> FileAnswer:
            target = url
            for _ in range(MAX_REDIRECTS + 1):
                response = self._send(target, follow_redirects=False)
                if not response.is_redirect:
                    break
                target = str(response.url.join(response.headers.get("Location", "")))
                if not self.same_origin(target):
                    raise HubError(f"refusing to follow a redirect to another host ({redact(target)}): the token "
                                   f"is only sent to {self.endpoint}", url=url)
            else:
                raise HubError(f"more than {MAX_REDIRECTS} redirects from {redact(url)}", url=url)
            try:
                self._raise_for_status(response, target)
            except HubError as exc:
                code = response.headers.get("X-Error-Code") or str(response.status_code)
                if isinstance(exc.__cause__, EntryNotFoundError) or code == "RevisionNotFound":
                    return FileAnswer("missing", error=code)
                if isinstance(exc.__cause__, GatedRepoError | DisabledRepoError | RepositoryNotFoundError):
                    return FileAnswer("refused", error=code)
                raise
            body = response.content
            etag = response.headers.get("ETag", "").removeprefix("W/").strip('"')
            if len(etag) == 40 and etag != _git_blob_id(body):  # a small file's ETag is its git blob id
                raise TransientError("the file does not match its ETag (cut short or replaced on the way)",
                                     malformed=True)
            return FileAnswer("file", body)

        return self._with_retries(attempt, url, on_retry=lambda error: None)

    def _with_retries(self, attempt: Callable[[], T], url: str, *, on_retry: Callable[[TransientError], None]) -> T:
        def count_and(error: TransientError, wait: float, attempts: int) -> None:
            self.stats.retries += 1
            if self.policy.stop_event is not None and self.policy.stop_event.is_set():
                return  # no retry will follow: the wait ends the run at once (Interrupted)
            # Every retry is seen (and `--quiet` keeps it quiet): a Hub that keeps failing is never silence.
            log.warning("retrying in %s (%d/%d): %s", _duration(wait), attempts, self.policy.attempts, error,
                        extra={"fields": {"event": "retry", "wait_seconds": round(wait, 3), "attempt": attempts,
                                          "attempts": self.policy.attempts, "reason": str(error),
                                          "url": redact(url)}})
            on_retry(error)

        try:
            return self.policy.call(attempt, on_retry=count_and)
        except TransientError as error:
            if error.unreached:
                raise HubUnreachable(f"cannot reach the Hub at {redact(self.endpoint)}: {error}; check --endpoint "
                                     f"or HF_ENDPOINT ({OFFLINE})", url=url) from None
            kind = MalformedResponse if error.malformed else HubUnavailable
            tries = self.policy.attempts
            raise kind(f"the Hub kept failing at {redact(url)}: {error} "
                       f"(gave up after {tries} attempt{'' if tries == 1 else 's'})", status=error.status,
                       url=url) from None

    def _get(self, url: str, page_size: int) -> Page:
        requested_at = datetime.now(UTC)
        items, response = self._get_json(url)
        if not isinstance(items, list):
            raise TransientError(f"the response is a JSON {type(items).__name__}, not a list", malformed=True)
        return Page(items, url, response.links.get("next", {}).get("url"), page_size, requested_at)

    def _get_json(self, url: str) -> tuple[Any, httpx2.Response]:
        """One paced GET and its decoded JSON; transient failures raise ``TransientError``."""
        response = self._send(url)
        self._raise_for_status(response, url)
        try:
            return _decoded(response), response
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise TransientError(f"the response is not JSON ({type(exc).__name__}: {exc})", malformed=True) from exc

    def _send(self, url: str, **options: Any) -> httpx2.Response:
        """One paced GET; transient failures raise ``TransientError``, other statuses are the caller's."""
        self.pacer.wait(self.policy.sleep)
        self.stats.requests += 1
        try:
            response = self._session.get(url, headers=self._headers, timeout=self.timeout, **options)
        except httpx2.TransportError as exc:
            if (cause := _lasting_cause(exc)) is not None:
                raise HubUnreachable(f"cannot reach the Hub at {redact(self.endpoint)}: {cause}; check --endpoint "
                                     f"or HF_ENDPOINT ({OFFLINE})", url=url) from None
            unreached = not self.answered and isinstance(exc, httpx2.ConnectError)
            raise TransientError(f"{type(exc).__name__}: {exc or 'connection failed'}", unreached=unreached) from exc
        self.answered = True
        if (quota := self.pacer.observe(response.headers)) is not None:
            self.stats.saw_quota(quota.limit, quota.window_seconds, quota.remaining)
        if response.status_code in TRANSIENT_STATUS:
            raise TransientError(f"HTTP {response.status_code}", status=response.status_code,
                                 retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        return response

    def _raise_for_status(self, response: httpx2.Response, url: str) -> None:
        try:
            hf_raise_for_status(response)
        except HfHubHTTPError as exc:
            status = response.status_code
            hint = HINTS.get(status, "this is not retried")
            raise HubError(f"the Hub refused {redact(url)} with HTTP {status}: {hint}", status=status,
                           url=url) from exc


def _git_blob_id(body: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(body) + body, usedforsecurity=False).hexdigest()


def _decoded(response: httpx2.Response) -> Any:
    """The body's JSON: orjson's reading of a well-formed page (a 1,000-model page in 2.1 ms
    against the standard library's 5.8), the standard library's of anything orjson refuses (NaN,
    integers beyond 64 bits, unpaired surrogates, deep nesting, another encoding), so that such a
    page decodes exactly as it always did and its odd items are judged one by one."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


# Resolver answers that say the name does not exist (EAI_AGAIN, "try again", is retried).
_NO_SUCH_HOST = {code for code in (getattr(socket, name, None) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_FAIL"))
                 if code is not None}
# TLS failures no retry fixes: the other side speaks something else, or its certificate is not trusted.
_WRONG_PROTOCOL = ("WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST", "RECORD_LAYER_FAILURE",
                   "UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION")


def _lasting_cause(exc: BaseException) -> str | None:
    """Why a transport error will not go away by retrying, if it will not: the host name does not
    exist, the certificate is not trusted, or the port does not speak TLS. A refused, reset or
    dropped connection, a timeout, a resolver that says "try again" and a TLS handshake cut short
    may pass, and are retried."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return f"the host name does not resolve ({seen.strerror or seen})" if seen.errno in _NO_SUCH_HOST else None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"its TLS certificate is not trusted ({getattr(seen, 'verify_message', None) or seen})"
        if isinstance(seen, ssl.SSLError):
            if getattr(seen, "reason", None) in _WRONG_PROTOCOL:
                return f"the TLS handshake failed ({seen.reason}; is it an http:// endpoint?)"
            return None
        seen = seen.__cause__ or seen.__context__
    return None


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def redact(url: str) -> str:
    """A URL fit for messages: no credentials, no cursor noise."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
