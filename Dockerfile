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
COPY rule_source ./rule_source
# The rule source: the alert names the server counts by name, the thresholds it judges fixes
# with and the kind of each alert's incident; the server refuses to start without it
# (RULES_SOURCE_FILE below, the default of the server's ALERT_RULES_FILE).
COPY prometheus/rules.src.yml ./prometheus/rules.src.yml
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data

USER app

# Overridable at run time: `DATABASE_URL=postgresql://...` when more than one replica runs.
ENV PORT=8000 \
    DATABASE_URL=sqlite:////data/license.db \
    RULES_SOURCE_FILE=/app/prometheus/rules.src.yml
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

# The port comes from PORT; 0.0.0.0 so other containers (and Fly's proxy) reach it.
CMD ["python", "-m", "license_server", "--host", "0.0.0.0"]
