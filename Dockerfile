# Bridgeflow: the web app with an in-process worker. Scale out by running more containers
# with `bridgeflow worker` against the same PostgreSQL (BRIDGEFLOW_DATABASE_URL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BRIDGEFLOW_DATABASE_URL=sqlite:////data/bridgeflow.db \
    BRIDGEFLOW_PROCESSES_DIR=/app/processes

WORKDIR /app
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY web ./web
COPY service_tasks ./service_tasks
COPY migrations ./migrations
COPY processes ./processes
RUN pip install --no-cache-dir . \
    && useradd --create-home bridgeflow \
    && mkdir -p /data && chown bridgeflow /data
USER bridgeflow
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
CMD ["sh", "-c", "bridgeflow db upgrade && bridgeflow serve --host 0.0.0.0 --port 8080"]
