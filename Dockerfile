# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/bot.sqlite3

RUN useradd --create-home --uid 10001 --user-group bot \
    && mkdir /data \
    && chown bot:bot /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install .

USER 10001:10001
VOLUME ["/data"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
