"""A queue in Redis that hands out jobs round-robin across tenants.

Every tenant shares the OAuth client's quota (1,500 requests a minute for all accounts), so the
order in which workers pick jobs decides whether one busy tenant can starve the others. Each
tenant has a list of waiting job ids, and a rotation list contains every tenant with at least one
waiting job, once. `pop` takes the tenant at the head of the rotation, pops its oldest job and
moves the tenant to the tail if it still has jobs. A tenant with one waiting job therefore waits
at most one pop per other waiting tenant, however many jobs the others have queued.

All changes run as Lua scripts, so concurrent workers never pop a job twice or lose one. Tenant
and job ids are strings, and the queue knows nothing of the portal's models.
"""

from connector.ratelimit.redis_client import get_redis

# KEYS[1]: rotation list, KEYS[2]: the tenant's job list. ARGV[1]: tenant id, ARGV[2]: job id.
# ARGV[3]: "RPUSH" to queue at the back, "LPUSH" to queue at the front.
PUSH_SCRIPT = """
local waiting = redis.call(ARGV[3], KEYS[2], ARGV[2])
if waiting == 1 then
  redis.call('RPUSH', KEYS[1], ARGV[1])
end
return waiting
"""

# KEYS[1]: rotation list. ARGV[1]: the prefix of the tenants' job list keys.
# The job list key is built from the tenant id popped here, so it cannot be declared in KEYS.
# That is why this queue needs a single Redis server, not Redis Cluster.
POP_SCRIPT = """
local tenants = redis.call('LLEN', KEYS[1])
for _ = 1, tenants do
  local tenant = redis.call('LPOP', KEYS[1])
  if not tenant then
    return false
  end
  local jobs_key = ARGV[1] .. tenant
  local job = redis.call('LPOP', jobs_key)
  if redis.call('LLEN', jobs_key) > 0 then
    redis.call('RPUSH', KEYS[1], tenant)
  end
  if job then
    return {tenant, job}
  end
end
return false
"""

# KEYS[1]: rotation list, KEYS[2]: the tenant's job list. ARGV[1]: tenant id.
CLEAR_SCRIPT = """
local removed = redis.call('LLEN', KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('LREM', KEYS[1], 0, ARGV[1])
return removed
"""


class FairQueue:
    """Job ids waiting per tenant, popped round-robin across tenants."""

    def __init__(self, name: str, *, client=None, key_prefix: str = "fairqueue:"):
        if not name:
            raise ValueError("Missing queue name.")
        self.name = name
        self._client = client
        self._rotation_key = f"{key_prefix}{name}:tenants"
        self._jobs_prefix = f"{key_prefix}{name}:jobs:"

    def push(self, tenant_id: str, job_id: str) -> int:
        """Queue `job_id` at the back of the tenant's list; return how many jobs now wait."""
        return self._push(tenant_id, job_id, "RPUSH")

    def requeue_front(self, tenant_id: str, job_id: str) -> int:
        """Put a popped job back at the front of its tenant's list; return how many jobs wait.

        Use it for a job that a rate limit denied. The tenant goes to the back of the rotation
        if it had no other job waiting, so a blocked tenant does not keep the head of the queue.
        """
        return self._push(tenant_id, job_id, "LPUSH")

    def pop(self) -> tuple[str, str] | None:
        """Remove and return (tenant id, job id) from the next tenant in turn, or None if empty."""
        script = self._redis.register_script(POP_SCRIPT)
        popped = script(keys=[self._rotation_key], args=[self._jobs_prefix])
        if not popped:
            return None

        tenant_id, job_id = popped
        return tenant_id.decode(), job_id.decode()

    def length(self, tenant_id: str) -> int:
        """Return how many of the tenant's jobs wait."""
        return self._redis.llen(self._jobs_key(tenant_id))

    def job_ids(self, tenant_id: str) -> list[str]:
        """Return the ids of the tenant's waiting jobs, in the order they will be popped."""
        return [job.decode() for job in self._redis.lrange(self._jobs_key(tenant_id), 0, -1)]

    def tenants(self) -> list[str]:
        """Return the tenants with waiting jobs, in the order they will be served."""
        return [tenant.decode() for tenant in self._redis.lrange(self._rotation_key, 0, -1)]

    def clear(self, tenant_id: str) -> int:
        """Drop every waiting job of the tenant, for example after its connection is revoked;
        return how many were dropped."""
        script = self._redis.register_script(CLEAR_SCRIPT)
        keys = [self._rotation_key, self._jobs_key(tenant_id)]
        return script(keys=keys, args=[_checked_id("tenant", tenant_id)])

    @property
    def _redis(self):
        return self._client or get_redis()

    def _jobs_key(self, tenant_id: str) -> str:
        return self._jobs_prefix + _checked_id("tenant", tenant_id)

    def _push(self, tenant_id: str, job_id: str, command: str) -> int:
        script = self._redis.register_script(PUSH_SCRIPT)
        keys = [self._rotation_key, self._jobs_key(tenant_id)]
        return script(keys=keys, args=[tenant_id, _checked_id("job", job_id), command])


def _checked_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"Invalid {kind} id {value!r}: use a non-empty string.")
    return value
