"""Request ids, one log line per request, and the filter that keeps secrets out of logs."""

import contextvars
import logging
import time
import uuid

from connector.keyformats import redact

logger = logging.getLogger("portal.request")

# The id of the request or job being handled, added to every log record written meanwhile.
current_request_id = contextvars.ContextVar("request_id", default="-")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class RedactSecretsFilter(logging.Filter):
    """Redact Keap keys, bearer tokens, site keys and token fields from every record.

    The message is formatted here, once, so that secrets passed as `%` arguments are caught too.
    Exception text is redacted by formatting it into the message.
    """

    def filter(self, record):
        message = record.getMessage()
        if record.exc_info:
            message = message + "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        if record.stack_info:
            message = message + "\n" + record.stack_info
            record.stack_info = None

        record.msg = redact(message)
        record.args = ()
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class RequestIdMiddleware:
    """Give each request an id (or keep a sane incoming X-Request-ID) and log one line for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _is_sane_id(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = current_request_id.set(request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            elapsed_ms = (time.monotonic() - started) * 1000
            logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                elapsed_ms,
                extra={"status": response.status_code, "duration_ms": round(elapsed_ms, 1)},
            )
            return response
        finally:
            current_request_id.reset(token)


def _is_sane_id(value):
    return 0 < len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)
