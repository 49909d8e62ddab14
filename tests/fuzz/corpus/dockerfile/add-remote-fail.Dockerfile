# expect: docker.add-remote:5
# expect: docker.add-remote:6
# expect: docker.add-remote:8
FROM alpine:3.19 AS fetch
ADD https://releases.example.com/tool/tool-linux-amd64.tar.gz /tmp/
ADD ["https://releases.example.com/tool/LICENSE", "/licenses/"]
# a git repository, over ssh
add --keep-git-dir=true git@github.com:example/helpers.git /src/helpers

FROM alpine:3.19
COPY --from=fetch /tmp /opt
USER 10001
HEALTHCHECK CMD ["/opt/tool", "health"]
