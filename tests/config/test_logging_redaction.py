"""Secrets written through any configured logger never reach the log output."""

import logging
import logging.config

import pytest
from django.conf import settings

KEAP_KEY = "KeapAK-" + "3f9a" * 12 + "c0"
BEARER_TOKEN = "eyJhbGciOi.canary-access-token.SflKxwRJSMeKKF2QT4"
SITE_KEY = "kpsk_canary7Q2mZ9xK4vT1pL8nR3sW6yB0cD5fG"
REFRESH_TOKEN = "canary-refresh-8d7c6b5a"

SECRETS = [KEAP_KEY, BEARER_TOKEN, SITE_KEY, REFRESH_TOKEN]


def configured_loggers():
    names = [""] + sorted(settings.LOGGING.get("loggers", {}))
    names += ["portal.request", "portal.task", "connector", "tenants", "keap_sandbox", "celery"]
    return [logging.getLogger(name) for name in names]


@pytest.fixture
def production_logging():
    logging.config.dictConfig({**settings.LOGGING, "root": {**settings.LOGGING["root"]}})
    for logger in configured_loggers():
        logger.setLevel(logging.DEBUG)
    yield
    logging.config.dictConfig(settings.LOGGING)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_it_redacts_secrets_from_every_logger(capfd, production_logging, log_format):
    config = {**settings.LOGGING}
    config["handlers"] = {
        "console": {**settings.LOGGING["handlers"]["console"], "formatter": log_format}
    }
    logging.config.dictConfig(config)

    for logger in configured_loggers():
        logger.setLevel(logging.DEBUG)
        logger.error("key %s", KEAP_KEY)
        logger.warning("Authorization: Bearer %s", BEARER_TOKEN)
        logger.info("site key=%s", SITE_KEY)
        logger.info("site key in message " + SITE_KEY)
        logger.info("token body %s", {"access_token": BEARER_TOKEN, "refresh_token": REFRESH_TOKEN})
        logger.info("header", extra={"auth_header": "X-Keap-API-Key: " + KEAP_KEY})
        try:
            raise ValueError("bad key " + KEAP_KEY)
        except ValueError:
            logger.exception("failed with Bearer %s", BEARER_TOKEN)

    output = "".join(capfd.readouterr())

    assert "[redacted]" in output
    for secret in SECRETS:
        assert secret not in output, secret
    assert "bad key" in output
