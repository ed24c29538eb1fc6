# syntax=docker/dockerfile:1
# okdesk-telegram-bot image: build the wheels in one stage, install only them in the next.
# Build: docker build -t okdesk-bot .   Run: see compose.yaml and docs/deploy.md.

# One base for both stages: the wheels must match the interpreter that installs them. Pin a
# digest for reproducible builds: --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:…
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: our wheel and the wheels of every dependency ------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Only what the build needs (see .dockerignore): the project metadata and the package.
COPY pyproject.toml README.md ./
COPY okdesk_bot ./okdesk_bot
RUN --mount=type=cache,target=/root/.cache/pip \
    pip wheel --wheel-dir /wheels .

# --- runtime: the installed wheels and nothing else ------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=8080

# A fixed, unprivileged identity: volumes and Kubernetes' runAsNonRoot can rely on the numbers.
RUN groupadd --system --gid 10001 okdesk \
    && useradd --system --uid 10001 --gid okdesk --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin okdesk

# Offline install from the builder's wheels; the wheel files themselves stay out of the image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/okdesk_telegram_bot-*.whl

# The code lives in site-packages (owned by root); the process writes nothing to its filesystem,
# so the container can run with a read-only root. Settings come from the environment only.
WORKDIR /app
USER 10001:10001

EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=4)"]

CMD ["okdesk-bot", "run"]
