# expect: docker.user-root:6
FROM rust:1.77 AS build
WORKDIR /src
COPY . .
RUN cargo build --release
FROM debian:12-slim
COPY --from=build /src/target/release/worker /usr/local/bin/worker
HEALTHCHECK CMD ["/usr/local/bin/worker", "--health"]
CMD ["/usr/local/bin/worker"]
