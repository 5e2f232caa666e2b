# The license server image: gunicorn (through `python -m license_server`), non-root, SQLite on /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (cached while only the code changes), then the project itself.
COPY pyproject.toml README.md ./
COPY license_server ./license_server
COPY license_demo ./license_demo
COPY stress_test ./stress_test
# The rule source: the alert names the server counts by name and the thresholds it judges
# fixes with; the server refuses to start without it (ALERT_RULES_FILE below).
COPY prometheus/rules.src.yml ./prometheus/rules.src.yml
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data

USER app

# Overridable at run time: `DATABASE_URL=postgresql://...` when more than one replica runs.
ENV PORT=8000 \
    DATABASE_URL=sqlite:////data/license.db \
    ALERT_RULES_FILE=/app/prometheus/rules.src.yml
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

# The port comes from PORT; 0.0.0.0 so other containers (and Fly's proxy) reach it.
CMD ["python", "-m", "license_server", "--host", "0.0.0.0"]
