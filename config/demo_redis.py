"""A Redis-compatible server in pure Python (fakeredis) for the demo.

The rate limiter and the jobs' fair queue keep their state in Redis, so that every web and
worker process shares it. The demo promises no servers to install, so it runs this instead;
its data lives in memory and is lost when the demo stops. Production uses a real Redis.

Run as `python -m config.demo_redis [--port 6399]`; it listens on 127.0.0.1 only.
"""

import argparse
import os

from fakeredis import TcpFakeServer

DEFAULT_PORT = int(os.environ.get("DEMO_REDIS_PORT", "6399"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port on 127.0.0.1")
    port = parser.parse_args().port

    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    print(f"Demo Redis (fakeredis, in memory) listening on redis://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
