# The gateway as `make serve` runs it: gunicorn with the gateway's uvicorn workers.
#   docker build -t wmgw .
#   docker run -e DATABASE_URL=... -e WMGW_SERVER_SECRET=... -p 8000:8000 --stop-timeout 40 wmgw
# compose.yaml runs it with PostgreSQL; docs/deploy.md says how both were checked.
# Debian's Python 3.11: the image is built from Debian's packages and PyPI alone.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/wmgw --create-home wmgw

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WMGW_DATA_DIR=/var/lib/wmgw \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=2

WORKDIR /opt/wmgw
COPY . .
RUN python3 -m venv /opt/venv \
    && pip install --no-cache-dir --quiet --upgrade pip \
    && pip install --no-cache-dir --quiet -e . \
    && wmgw --help >/dev/null

USER wmgw
VOLUME /var/lib/wmgw
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD python3 -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/readyz', timeout=4)"
# Migrations first (every release ships its own), then the server as PID 1, so that it gets
# the stop signal and drains: give it 40 s (`--stop-timeout 40`, compose's stop_grace_period).
CMD ["sh", "-c", "wmgw migrate && exec gunicorn 'web.app:create_app_from_env()' -c python:web.gunicorn_conf -k web.worker.GatewayWorker --bind \"$HOST:$PORT\" --workers \"$WORKERS\" --graceful-timeout 30"]
