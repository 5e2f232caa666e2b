#!/usr/bin/env bash
# Start the whole demo stack with docker compose and print every URL (`make up`).
#   scripts/compose-up.sh            # server, Prometheus, Alertmanager, Loki, Alloy, Grafana
#   scripts/compose-up.sh --load     # plus the Locust web UI (compose profile "load")
# Slack and email: set SLACK_WEBHOOK_URL and SMTP_SMARTHOST, SMTP_TO (docs/detection.md).
set -euo pipefail
cd "$(dirname "$0")/.."

profiles=()
case "${1:-}" in
  --load) profiles=(--profile load) ;;
  -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
  "") ;;
  *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
esac

if ! command -v docker >/dev/null 2>&1 || ! docker compose version >/dev/null 2>&1; then
  echo "docker compose is needed: install Docker Engine with the compose plugin" >&2
  echo "(https://docs.docker.com/compose/install/), or run the native stack: make stack" >&2
  exit 1
fi

python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
# Random credentials on first use, kept for later runs: the admin token (unless ADMIN_TOKEN is
# set) and the token Alertmanager sends to the server's webhook.
mkdir -p build/secrets && chmod 700 build/secrets
for secret in admin-token webhook-token; do
  if [ ! -s "build/secrets/$secret" ]; then
    echo "==> writing a random $secret into build/secrets/$secret"
    # Readable inside the containers (their users differ from yours); the folder keeps it private.
    (umask 022; "$python" -c "import secrets; print(secrets.token_urlsafe(24))" > "build/secrets/$secret")
  fi
done

echo "==> rendering the Alertmanager config into build/detection"
mkdir -p build/detection/secrets  # mounted by compose even when no secret is supplied
PYTHONPATH=. "$python" -m license_demo.deploy_configs --target compose --out build/detection
export ALERTMANAGER_CONFIG=./build/detection/alertmanager.yml

echo "==> building and starting (first run pulls about 1 GB of images)"
docker compose "${profiles[@]}" up -d --build --wait --wait-timeout 180

token="${ADMIN_TOKEN:-$(cat build/secrets/admin-token)}"
cat <<URLS

Stack is up:
  License server dashboard  http://localhost:8000/dashboard   (config: http://localhost:8000/config, token: $token)
  License server metrics    http://localhost:8000/metrics
  Grafana                   http://localhost:3000            (anonymous viewer; admin / \${GRAFANA_ADMIN_PASSWORD:-admin})
    Business metrics        http://localhost:3000/d/license-business-metrics
    Server operations       http://localhost:3000/d/license-server-operations
    Capacity planning       http://localhost:3000/d/license-capacity-planning
  Prometheus                http://localhost:9090  (alerts: http://localhost:9090/alerts)
  Alertmanager              http://localhost:9093
  Loki                      http://localhost:3100/ready
  Alloy                     http://localhost:12345
  Tempo (traces)            http://localhost:3200/ready   (in Grafana: Explore, Tempo)
  OTLP/HTTP for traces      http://localhost:4318   (OTEL_EXPORTER_OTLP_ENDPOINT of the stress test)
URLS
if [ ${#profiles[@]} -gt 0 ]; then
  echo "  Locust                    http://localhost:8089"
fi
echo
echo "Stop with: docker compose down   (add -v to delete the data volumes)"
