"""Running the studio: ``serve`` for the command line, :class:`StudioServer` for tests and notebooks.

uvicorn runs in a worker thread with its logging silenced (no banner, no access log: request
paths and bodies never reach a log); the main thread prints the tokenised URL first, waits for
Ctrl-C or SIGTERM, stops the server gracefully and prints the output directory last.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlencode

import uvicorn
from fastapi import FastAPI

from bench.core.dataset import Dataset
from bench.core.errors import ConfigError
from bench.studio.app import create_app
from bench.studio.services import StudioServices
from bench.studio.settings import LabelSettings

WILDCARD_HOSTS = ("0.0.0.0", "::", "")
START_TIMEOUT_S = 30.0


def _quiet_uvicorn() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True


class StudioServer:
    """An app served by uvicorn on a background thread.

    Args:
        app: the studio app (from :func:`bench.studio.app.create_app`).
        host: the address to bind.
        port: the port; 0 takes a free one (see :attr:`port`).

    Raises:
        ConfigError: the host is not an address of this machine, or the port is taken.

    Example:
        >>> with StudioServer(app) as server:  # doctest: +SKIP
        ...     print(server.login_url())
        http://127.0.0.1:40123/login?token=...
    """

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app, self.host = app, host
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )[0]
        except OSError as error:
            raise ConfigError(f"label.host={host!r} is not an address of this machine ({error})") from None
        self.socket = socket.socket(family, kind, proto)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind(address)
        except OSError as error:
            self.socket.close()
            raise ConfigError(
                f"cannot listen on {host}:{port} ({error.strerror}); "
                "set label.port to a free port, or 0 for any"
            ) from None
        self.socket.listen(128)
        self.port: int = self.socket.getsockname()[1]
        _quiet_uvicorn()
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            date_header=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="label-studio", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.socket])
        except BaseException as error:  # noqa: BLE001 - reported by start()
            self.error = error

    @property
    def base_url(self) -> str:
        """``http://host:port`` (loopback for a wildcard bind)."""
        host = "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def login_url(self, annotator: str | None = None) -> str:
        """The URL that signs a browser in (with the access token, and optionally a name)."""
        query = {"token": self.app.state.studio.token}
        if annotator:
            query["annotator"] = annotator
        return f"{self.base_url}/login?{urlencode(query)}"

    def start(self) -> StudioServer:
        """Start serving; returns once the server accepts requests."""
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the label studio did not start: {self.error!r}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop gracefully (in-flight requests finish) and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()

    def __enter__(self) -> StudioServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    dataset: Dataset,
    out_dir: str | Path,
    settings: LabelSettings,
    services: StudioServices,
    host: str | None = None,
    port: int | None = None,
) -> None:
    """Serve the label studio until Ctrl-C or SIGTERM (``teamform label serve``).

    Prints the tokenised URL as the first ``http://`` URL of the output, and the output
    directory as the last line once stopped.

    Args:
        dataset: the data to label.
        out_dir: where the state and the custom-format dataset go.
        settings: the ``label.*`` settings.
        services: the injected callables.
        host: overrides ``settings.host``.
        port: overrides ``settings.port``.
    """
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    app = create_app(dataset, out_dir, settings, services)
    server = StudioServer(app, host, port)
    if not LabelSettings(host=host).loopback:
        print(
            f"warning: label.host={host} serves personal data beyond this machine; anyone who can reach "
            "it and has the link below can read the profiles (the default is 127.0.0.1)",
            file=sys.stderr,
        )
    server.start()
    print(f"label studio: {server.login_url()}", flush=True)
    who = settings.annotator or "asks each browser for a name"
    print(f"annotator: {who}; output: {app.state.out_dir}; press Ctrl-C to stop", flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            server.server.force_exit = True
        stop.set()
        server.server.should_exit = True

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while server.thread.is_alive():
            server.thread.join(0.2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        server.stop()
    print(app.state.out_dir, flush=True)
