"""REST hooks (v1 only): the `X-Hook-Secret` handshake and event delivery with Keap's retries.

Reference: https://developer.infusionsoft.com/rest-hook-documentation and the "REST Hooks" tag of
Keap's v1 spec. Keap POSTs ids only, batched up to 1,000 objects of one event type:
`{"event_key", "object_type", "object_keys": [{"id", "apiUrl", "timestamp"}]}`. The first
attempt comes 30-60 s after the event (5-10 min for contactGroup.applied and
contactGroup.delete). After a failure it retries 30-60 s, 5 min and 30 min later. A failure is
no response within 30 s or a status below 200 or from 400 up, except 410, which makes the
subscription Inactive at once. After the fourth failure it becomes Inactive too.

The sandbox waits the lower bound of each range, multiplied by `state.hook_time_scale` so tests
can compress minutes into milliseconds. Hook URLs must be on this machine: the sandbox never
sends traffic to another host.
"""

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from keap_sandbox.paging import iso

logger = logging.getLogger(__name__)

# A list seen in Keap integrations; `GET /v1/hooks/event_keys` returns it.
EVENT_KEYS = [
    "appointment.add",
    "appointment.delete",
    "appointment.edit",
    "company.add",
    "company.delete",
    "company.edit",
    "contact.add",
    "contact.delete",
    "contact.edit",
    "contact.redact",
    "contactGroup.add",
    "contactGroup.applied",
    "contactGroup.delete",
    "contactGroup.edit",
    "contactGroup.removed",
    "invoice.add",
    "invoice.delete",
    "invoice.edit",
    "invoice.payment.add",
    "invoice.payment.delete",
    "invoice.payment.edit",
    "leadsource.add",
    "leadsource.delete",
    "leadsource.edit",
    "note.add",
    "note.delete",
    "note.edit",
    "opportunity.add",
    "opportunity.delete",
    "opportunity.edit",
    "opportunity.stage_move",
    "order.add",
    "order.delete",
    "order.edit",
    "product.add",
    "product.delete",
    "product.edit",
    "subscription.add",
    "subscription.delete",
    "subscription.edit",
    "task.add",
    "task.complete",
    "task.delete",
    "task.edit",
    "task.incomplete",
    "user.activate",
    "user.add",
    "user.edit",
]
SLOW_FIRST_ATTEMPT = {"contactGroup.applied", "contactGroup.delete"}
FIRST_DELAY = 30.0
SLOW_FIRST_DELAY = 300.0
RETRY_DELAYS = (30.0, 300.0, 1800.0)
MAX_ATTEMPTS = 4
MAX_BATCH = 1000
RECEIVER_TIMEOUT = 30.0
VERIFY_TIMEOUT = 10.0
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_hook_url(url) -> None:
    """Raise ValueError unless `url` is an http(s) URL on 127.0.0.1 or localhost."""
    parts = urlsplit(url if isinstance(url, str) else "")
    if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
        raise ValueError(
            f"Invalid hookUrl {url!r}: the Keap sandbox delivers hooks only to "
            "http(s)://127.0.0.1 or localhost, never to another host."
        )


def _session() -> requests.Session:
    session = requests.Session()
    # Proxy settings from the environment could route local traffic elsewhere.
    session.trust_env = False
    return session


def send_verification(url: str, secret: str) -> bool:
    """POST the handshake; return True when the receiver responds 200 with the same secret."""
    check_hook_url(url)
    try:
        with _session() as session:
            response = session.post(
                url,
                headers={"X-Hook-Secret": secret},
                timeout=VERIFY_TIMEOUT,
                allow_redirects=False,
            )
    except requests.RequestException as exc:
        logger.info("[hook_url=%s] Hook verification failed: %s", url, exc)
        return False
    return response.status_code == 200 and response.headers.get("X-Hook-Secret") == secret


def new_hook_secret() -> str:
    return secrets.token_hex(32)


def hook_json(hook: dict) -> dict:
    return {k: hook[k] for k in ("key", "eventKey", "hookUrl", "status")}


# --- Event delivery ----------------------------------------------------------------------------


@dataclass
class Batch:
    """Up to 1,000 objects of one event for one subscription, with its delivery attempts."""

    app_name: str
    hook_key: str
    event_key: str
    object_type: str
    object_keys: list[dict] = field(default_factory=list)
    attempts: int = 0
    due_at: float = 0.0
    is_sending: bool = False


def queue_event(state, account, event_key: str, object_id: int, *, tag_id: int | None = None):
    """Queue an event for every verified subscription to it. The caller must hold `state.lock`.

    NOTE: Keap documents the payload fields but not which id a contactGroup event carries. The
    sandbox sends the tag's id with the contact's id beside it in `contact_id`.
    """
    hooks_for_event = [
        hook
        for hook in account.hooks.values()
        if hook["eventKey"] == event_key and hook["status"] == "Verified"
    ]
    if not hooks_for_event:
        return
    object_type, _, _ = event_key.partition(".")
    if tag_id is not None:
        object_key = {
            "id": tag_id,
            "contact_id": object_id,
            "apiUrl": f"{state.public_base_url}/crm/rest/v1/tags/{tag_id}/contacts",
        }
    else:
        object_key = {
            "id": object_id,
            "apiUrl": f"{state.public_base_url}/crm/rest/v1/{object_type}s/{object_id}",
        }
    object_key["timestamp"] = iso(state.now())
    first_delay = SLOW_FIRST_DELAY if event_key in SLOW_FIRST_ATTEMPT else FIRST_DELAY

    for hook in hooks_for_event:
        batch = _open_batch(state, account.app_name, hook["key"], event_key)
        if batch is None:
            batch = Batch(
                app_name=account.app_name,
                hook_key=hook["key"],
                event_key=event_key,
                object_type=object_type,
                due_at=time.monotonic() + first_delay * state.hook_time_scale,
            )
            state.hook_outbox.append(batch)
        batch.object_keys.append(dict(object_key))
    state.hook_wakeup.set()


def _open_batch(state, app_name: str, hook_key: str, event_key: str) -> Batch | None:
    for batch in state.hook_outbox:
        if (
            batch.app_name == app_name
            and batch.hook_key == hook_key
            and batch.event_key == event_key
            and batch.attempts == 0
            and not batch.is_sending
            and len(batch.object_keys) < MAX_BATCH
        ):
            return batch
    return None


class HookDispatcher:
    """A background thread that sends due batches and applies Keap's retry schedule."""

    def __init__(self, state):
        self.state = state
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="keap-sandbox-hooks", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.state.hook_wakeup.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.state.hook_wakeup.wait(timeout=0.05)
            self.state.hook_wakeup.clear()
            try:
                for batch, url in self._claim_due_batches():
                    self._deliver(batch, url)
            except Exception:
                # One broken batch must not stop deliveries for the rest of the process.
                logger.exception("Hook dispatcher failed; continuing")

    def _claim_due_batches(self) -> list[tuple[Batch, str]]:
        now = time.monotonic()
        claimed = []
        with self.state.lock:
            for batch in list(self.state.hook_outbox):
                if batch.is_sending or batch.due_at > now:
                    continue
                hook = self._hook(batch)
                if hook is None or hook["status"] != "Verified":
                    self.state.hook_outbox.remove(batch)
                    continue
                batch.is_sending = True
                claimed.append((batch, hook["hookUrl"]))
        return claimed

    def _hook(self, batch: Batch) -> dict | None:
        account = self.state.accounts.get(batch.app_name)
        return account.hooks.get(batch.hook_key) if account else None

    def _deliver(self, batch: Batch, url: str) -> None:
        payload = {
            "event_key": batch.event_key,
            "object_type": batch.object_type,
            "object_keys": batch.object_keys,
        }
        timeout = min(max(RECEIVER_TIMEOUT * self.state.hook_time_scale, 1.0), RECEIVER_TIMEOUT)
        status, error = None, None
        try:
            check_hook_url(url)
            with _session() as session:
                response = session.post(url, json=payload, timeout=timeout, allow_redirects=False)
            status = response.status_code
        except (requests.RequestException, ValueError) as exc:
            error = str(exc)
        with self.state.lock:
            self._record(batch, url, status, error)

    def _record(self, batch: Batch, url: str, status: int | None, error: str | None) -> None:
        if batch not in self.state.hook_outbox:
            return  # The state was reset while the batch was on its way.
        batch.attempts += 1
        batch.is_sending = False
        succeeded = status is not None and 200 <= status < 400
        self.state.hook_deliveries.append(
            {
                "hook_key": batch.hook_key,
                "tenant_id": f"{batch.app_name}.infusionsoft.com",
                "event_key": batch.event_key,
                "hook_url": url,
                "object_count": len(batch.object_keys),
                "attempt": batch.attempts,
                "status": status,
                "error": error,
                "time": iso(self.state.now()),
            }
        )
        hook = self._hook(batch)
        if succeeded or hook is None:
            self.state.hook_outbox.remove(batch)
            return
        if status == 410 or batch.attempts >= MAX_ATTEMPTS:
            hook["status"] = "Inactive"
            self.state.hook_outbox.remove(batch)
            logger.info(
                "[hook=%s tenant=%s] Hook set Inactive after attempt %d (status %s, error %s)",
                batch.hook_key,
                batch.app_name,
                batch.attempts,
                status,
                error,
            )
            return
        delay = RETRY_DELAYS[batch.attempts - 1]
        batch.due_at = time.monotonic() + delay * self.state.hook_time_scale
