# Target Ledger: the HTTP API, projections and (without DATABASE_URL) an embedded
# PostgreSQL whose data lives in the /var/lib/target-ledger volume.
#
#   docker build -t target-ledger .
#   docker run -p 8000:8000 -v target-ledger-data:/var/lib/target-ledger target-ledger
#
# Both stages use the same base image, so the virtualenv's interpreter symlinks
# (/opt/venv/bin/python -> /usr/local/bin/python3.11) stay valid in the runtime stage.

# ---------------------------------------------------------------------------
# builder: build the project's wheel, install it with its dependencies into /opt/venv
# ---------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir pip==26.3

WORKDIR /src
# Everything the wheel is built from: hatchling packs src/target_ledger and projections,
# and force-includes migrations/ as target_ledger/migrations.
COPY pyproject.toml README.md ./
COPY src ./src
COPY projections ./projections
COPY migrations ./migrations

RUN /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/wheels . \
    && /opt/venv/bin/pip install --no-cache-dir /tmp/wheels/target_ledger-*.whl

# ---------------------------------------------------------------------------
# runtime: the virtualenv only, run as an unprivileged user
# ---------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    TL_DATA_DIR=/var/lib/target-ledger \
    TL_HOST=0.0.0.0

RUN groupadd --system --gid 10001 ledger \
    && useradd --system --no-log-init --uid 10001 --gid ledger \
        --create-home --home-dir /home/ledger --shell /usr/sbin/nologin ledger \
    && install -d -o ledger -g ledger -m 0700 /var/lib/target-ledger

COPY --from=builder /opt/venv /opt/venv

WORKDIR /home/ledger
# Numeric, so Kubernetes' runAsNonRoot can verify it (and hadolint DL3066 is satisfied).
USER 10001:10001

VOLUME /var/lib/target-ledger
EXPOSE 8000

# Ready = the API answers and its database does (public endpoint, no token needed).
# The start period covers initdb of the embedded PostgreSQL on a first start.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('TL_PORT', '8000') + '/health/ready', timeout=4)"]

CMD ["target-ledger", "serve"]
