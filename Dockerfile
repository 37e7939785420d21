# textlens serve in a container: the core install plus the serve extra, run as a non-root user (docs/serving.md).
#   docker build -t textlens-serve .
#   docker run --rm -p 8000:8000 -e TEXTLENS_API_KEY=change-me textlens-serve --workers 2
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_NUM_THREADS=1

# The package and its bundled models (textlens/models/weights) only; no torch, no training extras.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY textlens ./textlens
RUN pip install ".[serve]" \
    && rm -rf /src \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin textlens

USER textlens
WORKDIR /home/textlens
EXPOSE 8000

# /healthz answers as soon as the process serves; orchestrators should gate traffic on /readyz (models loaded).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

# docker stop sends SIGTERM to this process (PID 1): it stops accepting, answers what it holds, then exits 0.
# Give it more than the default 10 s if requests can be long: docker stop -t 130 (the --timeout plus a margin).
ENTRYPOINT ["textlens", "serve", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--workers", "2"]
