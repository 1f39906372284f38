# The worker's image (Cloud Run). Built by deploy_scout_worker.sh from a staged folder holding
# worker_service/, shared/ and requirements_cloud.txt; `docker build .` at the repo root works too.
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements_cloud.txt ./
RUN pip install --no-cache-dir -r requirements_cloud.txt

COPY shared/ shared/
COPY worker_service/ worker_service/

# Nothing in the container needs root.
RUN useradd --system --uid 10001 --no-create-home worker
USER 10001

# Google's recommendation for Python on Cloud Run: one worker process, threads for concurrency,
# no gunicorn timeout (Cloud Run enforces the request timeout), bound to the port Cloud Run gives.
CMD exec gunicorn --bind :$PORT --workers 1 --threads 8 --timeout 0 worker_service.main:app
