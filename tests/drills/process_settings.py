"""Settings of the web, worker and beat processes that drills start.

Those of the job tests' processes, plus a retry backoff base in seconds that may be a fraction
(`DRILL_JOB_RETRY_BASE_SECONDS`), which the project's settings read as a whole number. The
outage drill compresses time and needs one.
"""

import os

from tests.jobs.worker_settings import *  # noqa: F403

if "DRILL_JOB_RETRY_BASE_SECONDS" in os.environ:
    JOB_RETRY_BASE_SECONDS = float(os.environ["DRILL_JOB_RETRY_BASE_SECONDS"])
