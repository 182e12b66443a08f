"""Count the SQL queries of each Celery task in a worker, when BENCH_COUNT_QUERIES is 1.

Each task's queries are counted with Django's `connection.execute_wrapper` and added up per
task name in the Redis hash `bench:queries:<BENCH_CELERY_QUEUE>`, as `<task>:tasks` and
`<task>:queries`. Celery imports this module in workers through CELERY_IMPORTS.
"""

import os

from celery import signals

ENABLED = os.environ.get("BENCH_COUNT_QUERIES") == "1"

_open = {}


class QueryCount:
    def __init__(self):
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


def counts_key():
    return f"bench:queries:{os.environ.get('BENCH_CELERY_QUEUE', 'bench')}"


@signals.task_prerun.connect
def start_counting(task_id, task, **extra):
    if not ENABLED:
        return
    from django.db import connection

    counter = QueryCount()
    wrapper = connection.execute_wrapper(counter)
    wrapper.__enter__()
    _open[task_id] = (counter, wrapper)


@signals.task_postrun.connect
def stop_counting(task_id, task, **extra):
    opened = _open.pop(task_id, None)
    if opened is None:
        return
    counter, wrapper = opened
    wrapper.__exit__(None, None, None)

    from connector.ratelimit import get_redis

    client = get_redis()
    client.hincrby(counts_key(), f"{task.name}:tasks", 1)
    client.hincrby(counts_key(), f"{task.name}:queries", counter.queries)
