"""Jobs: every Keap call a client site or the portal requests runs as a job in a Celery worker.

The public entry points:
- `create_job(NewJob(...), connection=..., actor=...)` creates a queued job and its audit
  event, and dispatches it after commit (`connector.jobs.create`);
- `cancel_jobs_for_connection(connection)` cancels a revoked connection's queued jobs;
- `wait_for_job(job, seconds)` waits, bounded, for a job to finish (`connector.jobs.wait`).
docs/jobs.md describes the pipeline.
"""
