# A HEALTHCHECK in the build stage does not reach the final image, and
# HEALTHCHECK NONE turns the base image's one off.
FROM golang:1.22 AS build
HEALTHCHECK CMD ["true"]
COPY . /src
RUN cd /src && go build -o /out/app .
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/app /app
HEALTHCHECK NONE
ENTRYPOINT ["/app"]
