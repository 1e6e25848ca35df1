# The admin dashboard (`liveavatar dashboard`, Streamlit) for Cloud Run behind IAP.
# Build from the repository root:
#   docker build -f deploy/dashboard.Dockerfile -t liveavatar-dashboard .
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
COPY deploy/constraints.txt ./deploy/constraints.txt
RUN /opt/venv/bin/pip install --requirement deploy/constraints.txt
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM ${BASE_IMAGE}
# Streamlit keeps a small state folder under $HOME, so the user gets one; /data is the
# writable folder a local run mounts a volume on.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/app app \
 && install -d -o 10001 -g 10001 /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DASHBOARD_HOST=0.0.0.0 \
    DASHBOARD_PORT=8501
WORKDIR /home/app
USER 10001:10001
EXPOSE 8501
# On Cloud Run (K_SERVICE set) the dashboard binds 0.0.0.0:$PORT; elsewhere DASHBOARD_PORT.
CMD ["liveavatar", "dashboard"]
