# A Go service built the way the golden path asks: build stage, then a
# distroless final stage with only the binary, as a non-root user.
FROM golang:1.22-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/api ./cmd/api

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/api /api
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=10s CMD ["/api", "healthcheck"]
ENTRYPOINT ["/api"]
