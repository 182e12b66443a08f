"""Job errors in the words the site owner reads, keyed by the job's `error_code`.

Errors from Keap calls use `connector.keap.errors.error_messages`; these are the job pipeline's
own. Each stays within the 200 characters of `Job.error`.
"""

job_error_messages = {
    "outcome_unknown": (
        "Keap may have carried out this request before the connection to it failed, so it was "
        "not sent again. Check Keap, for example for the new record, before retrying."
    ),
    "connection_revoked": (
        "The Keap connection was revoked, so the job stopped before its next Keap call."
    ),
    "connection_not_active": (
        "The Keap connection needs reconnecting, so the job stopped before its next Keap call."
    ),
    "retries_exhausted": (
        "Keap did not answer successfully after {attempts} attempts ({reason}). Send the "
        "request again later."
    ),
    "worker_lost": (
        "The worker running this job stopped {attempts} times before it finished. Send the "
        "request again; if it fails again, tell the portal operator."
    ),
    "internal_error": (
        "The portal failed to run this job. Send the request again; if it fails again, tell "
        "the portal operator."
    ),
    "oauth_not_configured": (
        "Connect with Keap is switched off on this portal, so OAuth connections cannot be used."
    ),
}
