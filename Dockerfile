# The threadcrash demo service: worker threads that crash on purpose, every DEMO_INTERVAL seconds.
# Built and run by docker-compose.yml; works on its own too:
#   docker build -t threadcrash-demo . && docker run --rm threadcrash-demo
FROM python:3.12.8-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEMO_INTERVAL=2

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . \
    && useradd --system --no-create-home --uid 10001 threadcrash

USER 10001
# Shell form only to expand DEMO_INTERVAL; exec keeps the demo as PID 1 so it gets SIGTERM.
CMD ["sh", "-c", "exec threadcrash demo --crashes 0 --interval \"${DEMO_INTERVAL}\""]
