# Bridgeflow: the web app and API (gunicorn) with in-process job workers. Scale out by running
# more containers with `bridgeflow worker` against the same PostgreSQL (BRIDGEFLOW_DATABASE_URL).
# Connect the ERP and CRM with BRIDGEFLOW_ERP_* / BRIDGEFLOW_CRM_* (see README, Configuration).

# bpmn-js, dmn-js and htmx, from npm with the lock file, as `make setup` does.
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund && npm run vendor

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BRIDGEFLOW_ENVIRONMENT=production \
    BRIDGEFLOW_DATABASE_URL=sqlite:////data/bridgeflow.db \
    BRIDGEFLOW_PROCESSES_DIR=/app/processes \
    BRIDGEFLOW_MAPPINGS_DIR=/app/processes/mappings

WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY web ./web
COPY service_tasks ./service_tasks
COPY crm_sandbox ./crm_sandbox
COPY migrations ./migrations
COPY processes ./processes
COPY --from=assets /build/web/static/vendor ./web/static/vendor
# Report PDFs are set in Debian's DejaVu fonts (Latin, Greek, Cyrillic and €).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir . \
    && useradd --create-home bridgeflow \
    && mkdir -p /data && chown bridgeflow /data
USER bridgeflow
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
# Production refuses to start without BRIDGEFLOW_SECRET_KEY and BRIDGEFLOW_ENCRYPTION_KEYS.
CMD ["sh", "-c", "bridgeflow db upgrade && bridgeflow serve --host 0.0.0.0 --port 8080"]
