"""A REST hook receiver on 127.0.0.1 for tests: it completes handshakes and records deliveries."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HookReceiver:
    """A receiver on a free local port.

    `status` is the HTTP status returned for deliveries (200 by default). With
    `echo_secret=False` it leaves the `X-Hook-Secret` header out of its handshake response.
    """

    def __init__(self):
        self.deliveries: list[dict] = []
        self.secrets: list[str] = []
        self.status = 200
        self.echo_secret = True
        self.received = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                secret = self.headers.get("X-Hook-Secret")
                with receiver.received:
                    if secret is not None:
                        receiver.secrets.append(secret)
                        status = 200
                    else:
                        receiver.deliveries.append(json.loads(body or b"{}"))
                        status = receiver.status
                    receiver.received.notify_all()
                self.send_response(status)
                if secret is not None and receiver.echo_secret:
                    self.send_header("X-Hook-Secret", secret)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):  # noqa: A002 - the base class names it so
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/keap-hooks"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> "HookReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[dict]:
        """Wait until `count` deliveries arrived or `timeout` seconds passed; return them all."""
        with self.received:
            self.received.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout)
            return list(self.deliveries)
