# The portal's production image: gunicorn for the web, the same image for worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# collectstatic needs settings to load, not real secrets; the build-time values end here.
RUN PORTAL_MODE=production SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    CELERY_BROKER_URL=redis://build-only:6379/0 VAULT_MASTER_KEYSET=build-only \
    ALLOWED_HOSTS=build-only SITE_KEY_HMAC_KEY=build-only \
    python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app portal \
    && chown -R portal /app

USER portal

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
