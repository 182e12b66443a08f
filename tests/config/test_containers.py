"""No Docker engine runs here, so the compose file and Dockerfile are checked as text."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def load_compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_it_defines_every_service():
    services = load_compose()["services"]

    assert set(services) == {"web", "worker", "beat", "db", "redis"}


def test_it_gives_servers_health_checks_and_volumes():
    compose = load_compose()
    services = compose["services"]

    for name in ("web", "worker", "db", "redis"):
        assert "healthcheck" in services[name], name
    assert services["db"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert services["redis"]["volumes"] == ["redisdata:/data"]
    assert set(compose["volumes"]) == {"pgdata", "redisdata"}


def test_it_waits_for_healthy_servers():
    services = load_compose()["services"]

    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_it_runs_the_commands_used_outside_containers():
    services = load_compose()["services"]
    procfile = (REPO / "Procfile.dev").read_text()

    assert services["worker"]["command"].startswith("celery -A config worker")
    assert "celery -A config worker" in procfile
    assert services["beat"]["command"].startswith("celery -A config beat")
    assert "celery -A config beat" in procfile
    assert "gunicorn config.wsgi:application" in services["web"]["command"]
    assert services["web"]["environment"]["PORTAL_MODE"] == "production"


def test_it_runs_image_as_non_root():
    dockerfile = (REPO / "Dockerfile").read_text()

    assert "FROM python:3.11-slim" in dockerfile
    assert "\nUSER portal\n" in dockerfile
    assert "collectstatic" in dockerfile
    assert 'CMD ["gunicorn", "config.wsgi:application"' in dockerfile
