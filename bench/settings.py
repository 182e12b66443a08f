"""Django settings of the processes that `bench/run.py` starts (web, workers, sandbox).

The project's settings, plus names of the run's own (Celery queue, fair queue) and the query
counter of bench/query_counter.py in workers.
"""

import os

from config.settings import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "bench")
JOB_QUEUE_NAME = os.environ.get("BENCH_JOB_QUEUE", "bench-jobs")
CELERY_IMPORTS = ["bench.query_counter"]
