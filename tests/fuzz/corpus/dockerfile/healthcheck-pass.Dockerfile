# The final stage has a HEALTHCHECK, written over two lines with flags.
FROM golang:1.22 AS build
COPY . /src
RUN cd /src && go build -o /out/app .
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/app /app
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD ["/app", "healthcheck"]
ENTRYPOINT ["/app"]
