# syntax=docker/dockerfile:1.7
# Tags, a digest, scratch, an earlier stage's name, an ARG with a pinned
# default, an ARG without a default (known at build time only) and a
# registry with a port are all fine.
ARG GO_IMAGE=golang:1.22.1
ARG RUNTIME
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
RUN echo build
FROM registry.internal:5000/base/tools:2024.03 AS tools
FROM alpine@sha256:c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b AS certs
FROM $RUNTIME AS custom
FROM scratch
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/app /app
USER 65532
HEALTHCHECK CMD ["/app", "health"]
ENTRYPOINT ["/app"]
