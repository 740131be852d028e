# outreach-tui: the worker and the HTTP API from one image (README "Deploying").
# Small: a slim Python base, the app installed from this project as a wheel, no build tools
# left behind. Runs as an unprivileged user; configuration and secrets come from mounts.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY outreach_tui ./outreach_tui
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OUTREACH_CONFIG=/etc/outreach/config.toml
RUN useradd --system --uid 10001 --home-dir /var/lib/outreach --create-home outreach
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY --chmod=0755 deploy/entrypoint.sh /usr/local/bin/outreach-entrypoint
USER outreach
WORKDIR /var/lib/outreach
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status != 200)"]
# The API by default; the compose file runs `worker` from the same image.
ENTRYPOINT ["outreach-entrypoint"]
CMD ["serve", "--bind", "0.0.0.0", "--port", "8080"]
