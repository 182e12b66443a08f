"""Waking requests that wait for a job, through Redis publish/subscribe, when the job finishes.

A request that waits for a job (`?wait=`) subscribes to the job's channel before it reads the
row, so a job that finishes after that read still wakes it. The message carries no state: the
waiter reads the row again, and it also rereads the row every FALLBACK_POLL_SECONDS. A lost
message, or Redis being down, therefore makes a wait slower but never wrong.

Publish/subscribe channels are shared by every database number of a Redis server, so each
channel is named after the job's public id (a UUID).
"""

import logging
import time

import redis
from django.db import transaction

from connector.ratelimit.redis_client import get_redis

logger = logging.getLogger(__name__)

FALLBACK_POLL_SECONDS = 1.0


def channel(job_public_id) -> str:
    return f"portal:job-finished:{job_public_id}"


def announce_finished(job) -> None:
    """Publish that `job` finished, once the current transaction commits."""
    public_id = job.public_id
    transaction.on_commit(lambda: _publish(public_id))


def _publish(job_public_id):
    try:
        get_redis().publish(channel(job_public_id), b"1")
    except redis.RedisError as error:
        logger.warning("[job=%s] failed to wake its waiting requests: %s", job_public_id, error)


class FinishSubscription:
    """A subscription to one job's channel, whose `wait` returns early when the job finishes.

    Without Redis, `wait` sleeps for the whole time, and the caller's next read of the row
    finds the job's state.
    """

    def __init__(self, job_public_id):
        self.job_public_id = job_public_id
        self._pubsub = None
        try:
            pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel(job_public_id))
            # Reading the confirmation makes the subscription active before the row is read.
            pubsub.get_message(timeout=1.0)
            self._pubsub = pubsub
        except redis.RedisError as error:
            logger.warning(
                "[job=%s] waiting without finish messages, by rereading the row: %s",
                job_public_id,
                error,
            )

    def wait(self, seconds: float) -> None:
        if self._pubsub is None:
            time.sleep(seconds)
            return
        try:
            self._pubsub.get_message(timeout=seconds)
        except redis.RedisError as error:
            logger.warning(
                "[job=%s] lost the finish messages, rereading the row instead: %s",
                self.job_public_id,
                error,
            )
            self.close()
            time.sleep(seconds)

    def close(self) -> None:
        if self._pubsub is None:
            return
        try:
            self._pubsub.close()
        except redis.RedisError:
            pass
        self._pubsub = None
