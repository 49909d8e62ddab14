# expect: docker.user-root:9
# The last USER of the final stage counts, written as uid:gid.
FROM golang:1.22 AS build
COPY . /src
RUN cd /src && go build -o /out/app .
FROM alpine:3.19
USER 10001
COPY --from=build /out/app /app
USER 0:0
HEALTHCHECK CMD ["/app", "-health"]
CMD ["/app"]
