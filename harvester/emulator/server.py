"""`HubEmulator`: the local Hub as an object: its corpora, fault plan and request log, served in a thread.

The HTTP side (endpoints, validation, faults, the log's entries) is `handler`; the query string's
validation and the listing's cursor are `params`.
"""

from __future__ import annotations

import threading
from collections import deque

from .corpus import KINDS, Corpus
from .faults import FaultPlan
from .handler import RESOLVE, Handler, LoggedRequest, Server

DEFAULT_PAGE_SIZE = 1000

# How often the serving thread looks for a stop request. ``stop()`` waits up to this long:
# socketserver's default of 0.5 s was 0.50 of the 0.51 s a 1,000-model emulator took to start and
# stop, paid once for each of the test suite's few hundred emulators.
STOP_POLL = 0.02


class HubEmulator:
    """A local Hub serving synthetic corpora over real HTTP.

    Example:
        >>> with HubEmulator(models=1000, seed=1) as hub:  # doctest: +SKIP
        ...     os.environ["HF_ENDPOINT"] = hub.url
        ...     hub.corpora["models"].modify(10)
        ...     hub.faults.add("502,every=5")
    """

    def __init__(
        self,
        *,
        models: int = 0,
        datasets: int = 0,
        spaces: int = 0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        default_page_size: int = DEFAULT_PAGE_SIZE,
        tokens: set[str] | None = None,
        log_size: int = 100_000,
    ) -> None:
        sizes = {"models": models, "datasets": datasets, "spaces": spaces}
        self.corpora: dict[str, Corpus] = {kind: Corpus.generate(kind, sizes[kind], seed) for kind in KINDS}
        Corpus.link(self.corpora)
        self.faults = faults or FaultPlan(seed=seed)
        self.default_page_size = default_page_size
        self.tokens = tokens
        self.requests: deque[LoggedRequest] = deque(maxlen=log_size)
        self._server = Server((host, port), Handler)
        self._server.emulator = self
        self._thread: threading.Thread | None = None

    @property
    def host_port(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    @property
    def url(self) -> str:
        """The base URL to use as ``HF_ENDPOINT``."""
        return f"http://{self.host_port}"

    def token_ok(self, authorization: str | None) -> bool:
        """Whether a request's credentials are accepted (any, unless ``tokens`` is set)."""
        if authorization is None or self.tokens is None:
            return True
        return authorization.removeprefix("Bearer ").strip() in self.tokens

    def log(self, request: LoggedRequest) -> None:
        self.requests.append(request)

    def listing_requests(self, kind: str = "models") -> list[LoggedRequest]:
        """The logged requests to one listing endpoint, oldest first."""
        return [r for r in self.requests if r.path == f"/api/{kind}"]

    def repo_requests(self, kind: str = "models") -> list[LoggedRequest]:
        """The logged requests for single repos of one kind (``/api/models/{id}``), oldest first."""
        return [r for r in self.requests if r.path.startswith(f"/api/{kind}/")]

    def card_requests(self, kind: str = "models") -> list[LoggedRequest]:
        """The logged file downloads (``/resolve/``, cards) of repos of one kind, oldest first."""
        prefix = None if kind == "models" else kind
        return [r for r in self.requests
                if not r.path.startswith("/api/") and (found := RESOLVE.match(r.path)) and found.group(1) == prefix]

    def start(self) -> HubEmulator:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, args=(STOP_POLL,), name="hub-emulator",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> HubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
