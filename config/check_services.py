"""Stop the test run at once, with instructions, when PostgreSQL or Redis cannot be reached.

Run as `python -m config.check_services`; exits 1 naming each unreachable server.
"""

import os
import sys
from urllib.parse import urlsplit

import psycopg
import redis

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

HOW_TO_START = """
Start the missing server(s) and run the tests again, for example with Docker:
  docker compose up -d db redis
  export DATABASE_URL=postgres://portal:$POSTGRES_PASSWORD@127.0.0.1:5432/portal
or on Debian with the packages installed:
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
Set DATABASE_URL and CELERY_BROKER_URL to use servers elsewhere."""


def check_database(url):
    parts = urlsplit(url)
    # The test database is created by the test run; the server's default database is enough.
    try:
        with psycopg.connect(
            host=parts.hostname,
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password,
            dbname="postgres",
            connect_timeout=3,
        ):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {parts.hostname}:{parts.port or 5432} is not reachable: {exc}"


def check_redis(url):
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        return None
    except redis.RedisError as exc:
        parts = urlsplit(url)
        return f"Redis at {parts.hostname}:{parts.port or 6379} is not reachable: {exc}"


def main():
    problems = [
        check_database(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)),
        check_redis(os.environ.get("CELERY_BROKER_URL", DEFAULT_REDIS_URL)),
    ]
    problems = [problem for problem in problems if problem]
    if not problems:
        return 0

    for problem in problems:
        print(problem, file=sys.stderr)
    print(HOW_TO_START, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
