# Multi-stage: build on Debian 12 with the -dev packages, run on a slim
# Debian 12 with only the shared libraries, as a non-root user.
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        build-essential cmake pkg-config git ca-certificates \
        libevent-dev libgit2-dev libjansson-dev libssl-dev \
        libcurl4-openssl-dev libyaml-dev libsqlite3-dev libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPAVED_TESTS=OFF \
    && cmake --build build -j "$(nproc)" --target paved

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        ca-certificates curl git \
        libevent-2.1-7 libevent-pthreads-2.1-7 libgit2-1.5 libjansson4 \
        libssl3 libcurl4 libyaml-0-2 libsqlite3-0 libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/paved paved
COPY --from=build /src/build/paved /usr/local/bin/paved
COPY config/ /etc/paved/
COPY pipelines/ /usr/share/paved/pipelines/
USER paved
WORKDIR /var/lib/paved
ENV PAVED_LISTEN=0.0.0.0:8080 \
    PAVED_DATA_DIR=/var/lib/paved/data \
    PAVED_PIPELINES_DIR=/usr/share/paved/pipelines
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/paved"]
CMD ["serve", "--config", "/etc/paved/paved.yaml"]
