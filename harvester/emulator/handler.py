"""The emulator's HTTP side: the Hub's listing and repo endpoints on 127.0.0.1.

``GET /api/{models,datasets,spaces}`` validate their query parameters as the Hub does (400 with
a JSON error), serve one page through a keyset cursor, and put the next page's absolute URL in a
``Link: <...>; rel="next"`` header while rows remain. ``GET /api/{kind}/{repo_id}`` serves one
repo with every property, or those ``expand`` asks for (``blobs=true`` adds file sizes to
``siblings`` either way), 404 once it is gone, 403 if disabled.
``GET`` and ``HEAD /{repo_id}/resolve/{revision}/README.md`` (``datasets/`` or ``spaces/`` before the
repo for those kinds) serve its card as ``hf_hub_download`` fetches it, under a quota of its own.
Every request is logged (method, path, params, status, fault) for tests to read; the token
itself is never logged, only whether one was sent.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from . import files, items
from .corpus import Corpus, Query
from .faults import Fault
from .params import BadRequest, encode_cursor, invalid_expand, parse_listing, parse_repo

if TYPE_CHECKING:
    from .server import HubEmulator

# /{datasets/|spaces/}{repo_id}/resolve/{revision}/{path}: hf_hub_url's file URL.
RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?(.+?)/resolve/([^/]+)/(.+)$")
CARD = "README.md"


class Refusal(Exception):
    """A repo request the Hub refuses, with the status and the headers hf_raise_for_status reads."""

    def __init__(self, status: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


def not_found(repo_id: str) -> Refusal:
    """Never existed, deleted, or private."""
    return Refusal(404, f"Repository {repo_id!r} not found", {"X-Error-Code": "RepoNotFound"})


def gated(repo_id: str, *, authorized: bool) -> Refusal:
    """A gated repo's file, asked for without (401) or with (403) a token whose access is not granted."""
    return Refusal(403 if authorized else 401, f"Access to repo {repo_id!r} is restricted",
                   {"X-Error-Code": "GatedRepo", "X-Error-Message": "Access to this resource is restricted."})


def entry_not_found(repo_id: str, path: str) -> Refusal:
    return Refusal(404, f"Entry {path!r} not found in {repo_id!r}", {"X-Error-Code": "EntryNotFound"})


def revision_not_found(repo_id: str, revision: str) -> Refusal:
    return Refusal(404, f"Revision {revision!r} not found in {repo_id!r}", {"X-Error-Code": "RevisionNotFound"})


def disabled(repo_id: str) -> Refusal:
    """Disabled by the Hub (a takedown): listed, but its page is refused."""
    return Refusal(403, f"Repository {repo_id!r} is disabled",
                   {"X-Error-Message": "Access to this resource is disabled."})


def served_row(corpus: Corpus, j: int | None, repo_id: str) -> int:
    """``j``, the row of the repo asked for as ``repo_id``, if its page is served: else the Hub's refusal."""
    if j is None:
        raise not_found(repo_id)
    if corpus.disabled[j]:
        raise disabled(repo_id)
    return j


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator saw it."""

    path: str
    params: tuple[tuple[str, str], ...]
    status: int
    fault: str | None
    rows: int
    authorized: bool
    at: float
    method: str = "GET"

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)


# Renders a validated request (with the fault drawn for it) as (JSON payload, extra headers, rows).
Produce = Callable[[Any, Fault | None], tuple[Any, dict[str, str], int]]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a small body waits for the client's
    # delayed ACK (40 ms on Linux), which would make every repo page cost 40 ms.
    disable_nagle_algorithm = True
    server: Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep stderr quiet
        pass

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        """Headers only, as ``hf_hub_download`` asks for a file's commit, ETag and size first."""
        self._answer("HEAD")

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer("GET")

    def _answer(self, method: str) -> None:
        url = urlsplit(self.path)
        pairs = parse_qsl(url.query, keep_blank_values=True)
        emulator = self.server.emulator
        kind, _, repo_id = unquote(url.path).removeprefix("/api/").partition("/")
        status, fault, rows = 200, None, 0
        self._method = method
        self._reply: tuple[int, bytes, dict[str, str]] | None = None
        try:
            if url.path.rstrip("/") == "/api/whoami-v2":
                status = self._whoami()
            elif (found := RESOLVE.match(url.path)) and not url.path.startswith("/api/"):
                status, fault = self._resolve(*found.groups())
            elif not url.path.startswith("/api/") or kind not in emulator.corpora:
                status = self._error(404, f"Not found: {url.path}")
            elif not emulator.token_ok(self.headers.get("Authorization")):
                status = self._error(401, "Invalid credentials in Authorization header")
            elif repo_id:
                status, fault, rows = self._repo(kind, repo_id, pairs)
            else:
                status, fault, rows = self._listing(kind, url.path, pairs)
        finally:
            # Logged before the answer goes out, so a client that has its answer finds its request in the log.
            emulator.log(LoggedRequest(url.path, tuple(pairs), status, fault, rows,
                                       "Authorization" in self.headers, time.time(), method))
            if self._reply is not None:
                self._write(*self._reply)

    def _whoami(self) -> int:
        header = self.headers.get("Authorization")
        if header is None or not self.server.emulator.token_ok(header):
            return self._error(401, "Invalid credentials in Authorization header")
        self._send(200, json.dumps({"type": "user", "name": "emulator-user"}).encode())
        return 200

    def _listing(self, kind: str, path: str, pairs: list[tuple[str, str]]) -> tuple[int, str | None, int]:
        emulator = self.server.emulator
        corpus = emulator.corpora[kind]

        def page(request: tuple[Query, tuple[str, ...]], fault: Fault | None) -> tuple[Any, dict[str, str], int]:
            query, fields = request
            with corpus.lock:
                rows, more = corpus.page(query)
                listed = [items.render(corpus, j, fields) for j in rows]
                next_cursor = encode_cursor(query, corpus.sort_value(query.sort, rows[-1]), rows[-1]) if more else None
            headers = {}
            if next_cursor is not None or (fault is not None and fault.action == "repeat-cursor"):
                headers["Link"] = f'<{self._next_url(path, pairs, next_cursor, fault)}>; rel="next"'
            if fault is not None and fault.action == "missing-field" and listed:
                del listed[0]["id"]
            return listed, headers, len(listed)

        def parse() -> tuple[Query, tuple[str, ...]]:
            request = parse_listing(kind, pairs, default_limit=emulator.default_page_size)
            if refused := emulator.faults.refused_expand({value for key, value in pairs if key == "expand"}):
                raise invalid_expand(kind, sorted(refused))
            return request

        return self._serve(parse, page, page_size=lambda request: request[0].limit)

    def _repo(self, kind: str, repo_id: str, pairs: list[tuple[str, str]]) -> tuple[int, str | None, int]:
        """One repo's page, as ``model_info`` asks for it; ``blobs=true`` adds file sizes, with
        ``expand`` or without, unless a fault refuses the pair or an ``expand`` value."""
        emulator = self.server.emulator
        corpus = emulator.corpora[kind]

        def info(request: tuple[tuple[str, ...], bool], fault: Fault | None) -> tuple[Any, dict[str, str], int]:
            fields, blobs = request
            with corpus.lock:
                j = served_row(corpus, corpus.find(repo_id), repo_id)
                item = items.render(corpus, j, fields)
                if blobs and "siblings" in item:
                    item["siblings"] = items.siblings_with_blobs(corpus, j)
            return item, {}, 1

        def parse() -> tuple[tuple[str, ...], bool]:
            request = parse_repo(kind, pairs)
            asked = {value for key, value in pairs if key == "expand"}
            if refused := emulator.faults.refused_expand(asked, repo_page=True):
                raise invalid_expand(kind, sorted(refused))
            answer = emulator.faults.blobs_beside_expand() if asked and request[1] else None
            if answer == "refuse-blobs-expand":
                raise BadRequest("'expand' cannot be combined with 'blobs'")
            return request[0], request[1] and answer != "ignore-blobs-expand"

        return self._serve(parse, info)

    def _resolve(self, prefix: str | None, repo: str, revision: str, path: str) -> tuple[int, str | None]:
        """A file download: the card (``README.md``) of a repo at ``main`` or its sha, as the Hub's
        resolver answers it (commit and ETag headers; a 307 from a renamed repo's old id)."""
        emulator = self.server.emulator
        corpus = emulator.corpora[(prefix or "models")]
        repo_id, revision, path = unquote(repo), unquote(revision), unquote(path)
        plan = emulator.faults
        allowed, limit_headers, retry_after = plan.admit(resolver=True)
        if not allowed:
            return self._error(429, "Rate limit reached", {"Retry-After": str(retry_after), **limit_headers}), "quota"
        authorization = self.headers.get("Authorization")
        if not emulator.token_ok(authorization):
            return self._error(401, "Invalid credentials in Authorization header", limit_headers), None
        fault = plan.next_fault()
        if fault is not None and fault.action in ("status", "drop"):
            return self._fail(fault, limit_headers), fault.name
        if fault is not None and fault.action == "slow":
            plan.delay(fault.seconds)
        try:
            with corpus.lock:
                j = corpus.find(repo_id)
                if j is None and (moved := corpus.renamed_from(repo_id)) is not None:
                    target = f"/{prefix + '/' if prefix else ''}{quote(corpus.ids[moved])}/resolve/" \
                             f"{quote(revision, safe='')}/{quote(path)}"
                    self._send(307, b"", {**limit_headers, "Location": target})
                    return 307, fault.name if fault else None
                text, sha = self._card(corpus, j, repo_id, revision, path, authorized=authorization is not None)
        except Refusal as exc:
            return self._error(exc.status, str(exc), {**limit_headers, **exc.headers}), None
        body = text.encode()
        headers = {**limit_headers, "Content-Type": "text/plain; charset=utf-8", "X-Repo-Commit": sha,
                   "ETag": f'"{files.git_blob_id(body)}"'}
        if fault is not None and fault.action == "truncate":
            body = body[: max(1, len(body) // 2)]
        elif fault is not None and fault.action == "malformed":
            body, headers["Content-Type"] = b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
        self._send(200, body, headers)
        return 200, fault.name if fault else None

    @staticmethod
    def _card(corpus: Corpus, j: int | None, repo_id: str, revision: str, path: str, *,
              authorized: bool) -> tuple[str, str]:
        """The card's text and the commit it is read at, or the Hub's refusal."""
        j = served_row(corpus, j, repo_id)
        if corpus.gated_value(j) == "manual":
            raise gated(repo_id, authorized=authorized)
        sha = corpus.sha(j)
        if revision not in ("main", sha):
            raise revision_not_found(repo_id, revision)
        text = corpus.card_text(j) if path == CARD else None
        if text is None:
            raise entry_not_found(repo_id, path)
        return text, sha

    def _serve(self, parse: Callable[[], Any], produce: Produce, *,
               page_size: Callable[[Any], int] | None = None) -> tuple[int, str | None, int]:
        """Quota, validation, fault injection and the JSON body: what every API answer goes through."""
        plan = self.server.emulator.faults
        allowed, limit_headers, retry_after = plan.admit()
        if not allowed:
            refusal = {"Retry-After": str(retry_after), **limit_headers}
            return self._error(429, "Rate limit reached", refusal), "quota", 0
        try:
            request = parse()
        except BadRequest as exc:
            return self._error(400, str(exc), limit_headers), None, 0
        if page_size is not None and plan.max_page_size is not None and page_size(request) > plan.max_page_size:
            return self._error(504, "Gateway Timeout", limit_headers), "page-size", 0
        fault = plan.next_fault()
        if fault is not None and fault.action in ("status", "drop"):
            return self._fail(fault, limit_headers), fault.name, 0
        if fault is not None and fault.action == "slow":
            plan.delay(fault.seconds)
        try:
            payload, headers, rows = produce(request, fault)
        except Refusal as exc:  # the Hub names the reason in a header that hf_raise_for_status reads
            return self._error(exc.status, str(exc), {**limit_headers, **exc.headers}), None, 0
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        if fault is not None and fault.action == "truncate":
            body = body[: max(1, len(body) // 2)]
        elif fault is not None and fault.action == "malformed":
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        self._send(200, body, {**limit_headers, **headers})
        return 200, fault.name if fault else None, rows

    def _next_url(self, path: str, pairs: list[tuple[str, str]], cursor: str | None, fault: Fault | None) -> str:
        host = self.headers.get("Host") or self.server.emulator.host_port
        if fault is not None and fault.action == "foreign-link":
            host = "hub.evil.invalid"
        if fault is not None and fault.action == "repeat-cursor":
            return f"http://{host}{path}?{urlencode(pairs)}"
        kept = [(key, value) for key, value in pairs if key != "cursor"]
        return f"http://{host}{path}?{urlencode(kept + [('cursor', cursor or '')])}"

    def _fail(self, fault: Fault, headers: dict[str, str]) -> int:
        if fault.action == "drop":
            self.close_connection = True  # say nothing: the client sees the connection drop
            return 0
        extra = dict(headers)
        if fault.status == 429 and fault.retry_after is not None:
            extra["Retry-After"] = f"{fault.retry_after:g}"
        return self._error(fault.status, f"Injected fault {fault.status}", extra)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> int:
        self._send(status, json.dumps({"error": message}).encode(), headers or {})
        return status

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """The answer, written once the request is logged (see ``_answer``)."""
        self._reply = (status, body, headers or {})

    def _write(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """The answer; a HEAD gets the same headers, Content-Length included, and no body."""
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content-Type", "application/json; charset=utf-8"))
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self._method != "HEAD":
            self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: HubEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-response (killed, timed out) is normal here, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
