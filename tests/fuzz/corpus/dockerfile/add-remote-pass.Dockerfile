# Local files, a download with a checksum, and curl with a verified sha256.
FROM alpine:3.19 AS fetch
ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://github.com/moby/moby/archive/refs/tags/v26.0.0.tar.gz /src/moby.tgz
RUN apk add --no-cache curl \
 && curl -fsSLo /tmp/tool.tgz https://example.com/tool-1.2.3.tgz \
 && echo "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  /tmp/tool.tgz" | sha256sum -c -

FROM alpine:3.19
ADD rootfs.tar.gz /
ADD ["config/app.yaml", "/etc/app/"]
COPY --from=fetch /tmp/tool.tgz /opt/
USER 10001
HEALTHCHECK CMD ["/usr/local/bin/app", "health"]
