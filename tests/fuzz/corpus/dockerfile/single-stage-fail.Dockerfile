# expect: docker.single-stage:4
# One stage: the Go toolchain, the sources and the module cache all ship
# in the image that runs in production.
FROM golang:1.22-bookworm
WORKDIR /src
COPY . .
RUN go build -o /usr/local/bin/api ./cmd/api
USER 10001
HEALTHCHECK CMD ["/usr/local/bin/api", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/api"]
