# syntax=docker/dockerfile:1
# SMB Finance OS: one image for the API (default command), the Celery worker, Celery beat
# and the one-shot `smbfinance db …` / `smbfinance seed-demo` commands.
# See docs/operations.md and docker-compose.yml.

# ---------------------------------------------------------------- builder
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"

WORKDIR /app

# Pinned runtime dependencies first, so that a code change does not reinstall them.
# Every package installs from a wheel: no compiler is needed.
COPY requirements.txt constraints.txt ./
RUN python -m pip install --upgrade "pip==25.3" \
 && python -m pip install -r requirements.txt -c constraints.txt

# The `smbfinance` command (pyproject's console script). The install is editable and points
# at /app, where the final stage puts the source: the code runs from the source tree, next
# to migrations/ (smbfinance.platform.MIGRATIONS_DIR is resolved relative to the package).
COPY pyproject.toml ./
COPY smbfinance/ smbfinance/
COPY config/ config/
RUN python -m pip install --no-deps -e .

# ---------------------------------------------------------------- runtime
FROM python:3.11-slim

ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SMBFINANCE_ENV=production

RUN groupadd --system --gid 10001 smbfinance \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin smbfinance

COPY --from=builder /opt/venv /opt/venv

# The source belongs to root and is read-only for the application user.
WORKDIR /app
COPY smbfinance/ smbfinance/
COPY config/ config/
COPY migrations/ migrations/
COPY wsgi.py celery_worker.py pyproject.toml ./

USER 10001:10001
EXPOSE 5000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health/live', timeout=4)"]

CMD ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "2", "--access-logfile", "-", "wsgi:app"]
