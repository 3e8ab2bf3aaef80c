# OpenToken gateway image: docker build -t opentoken .   (docs/deploy.md)
# Two stages: the build stage installs the locked dependencies with uv; the runtime stage gets only the
# virtual environment and runs as an unprivileged user.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# dependencies first, exactly as locked in uv.lock (this layer is reused while only the source changes)
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 opentoken \
    && useradd --system --uid 10001 --gid opentoken --home-dir /app --no-create-home --shell /usr/sbin/nologin opentoken \
    && mkdir -p /app/data \
    && chown opentoken:opentoken /app/data
COPY --from=build /app/.venv /app/.venv
# DL3064 reads the "TOKEN" in OPENTOKEN_ as a secret; these are a host, a port, a folder and a log format
# hadolint ignore=DL3064
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OPENTOKEN_HOST=0.0.0.0 \
    OPENTOKEN_PORT=8000 \
    OPENTOKEN_DATA_DIR=/app/data \
    OPENTOKEN_LOG_FORMAT=json
WORKDIR /app
USER 10001:10001
EXPOSE 8000
STOPSIGNAL SIGTERM
# liveness of the process; load balancers should probe GET /readyz instead (docs/operations.md)
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["opentoken"]
CMD ["serve"]
