# expect: docker.image-unpinned:5
# The ARG's default is what a plain `docker build` uses.
ARG BASE=python
ARG TAG=latest
FROM ${BASE}:${TAG} AS build
RUN pip wheel -w /wheels .
FROM python:3.12-slim
COPY --from=build /wheels /wheels
USER 10001
HEALTHCHECK CMD ["python", "-m", "app.health"]
