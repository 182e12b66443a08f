"""Serve the sandbox on a local port with a threaded WSGI server, in a thread or the foreground."""

import logging
import socket
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from keap_sandbox.app import SandboxApp
from keap_sandbox.hooks import HookDispatcher
from keap_sandbox.http import DropConnection
from keap_sandbox.state import SandboxState

logger = logging.getLogger(__name__)


class _ServerHandler(ServerHandler):
    """Sends nothing at all when the app raises DropConnection."""

    dropped = False

    def handle_error(self):
        if isinstance(sys.exc_info()[1], DropConnection):
            self.dropped = True
            return
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    def handle(self):
        # The body of WSGIRequestHandler.handle (Python 3.11), with the drop handling added.
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _ServerHandler(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True
        )
        handler.request_handler = self
        handler.run(self.server.get_app())
        if handler.dropped:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        logger.debug("%s %s", self.address_string(), format % args)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class SandboxServer:
    """The sandbox listening on `host:port` (port 0 picks a free one), 127.0.0.1 by default."""

    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0):
        self.state = state or SandboxState()
        self.app = SandboxApp(self.state)
        self.httpd = _ThreadingWSGIServer((host, port), _RequestHandler)
        self.httpd.set_app(self.app)
        self.host, self.port = self.httpd.server_address[:2]
        self.state.public_base_url = self.base_url
        self.dispatcher = HookDispatcher(self.state)
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SandboxServer":
        """Serve in a background thread and return at once."""
        self.dispatcher.start()
        self.thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="keap-sandbox",
            daemon=True,
        )
        self.thread.start()
        logger.info("Keap sandbox started at %s", self.base_url)
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.dispatcher.start()
        logger.info("Keap sandbox started at %s", self.base_url)
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop(self) -> None:
        self.app.stopping.set()
        self.dispatcher.stop()
        if self.thread is not None:
            self.httpd.shutdown()
            self.thread.join(timeout=5)
            self.thread = None
        self.httpd.server_close()
        logger.info("Keap sandbox stopped at %s", self.base_url)
