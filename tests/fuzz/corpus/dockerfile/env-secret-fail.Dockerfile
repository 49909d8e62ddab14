# expect: docker.env-secret:10
# expect: docker.env-secret:13
# expect: docker.env-secret:14
FROM golang:1.22 AS build
COPY . /src
RUN cd /src && go build -o /out/app .

FROM debian:12-slim
COPY --from=build /out/app /app
ENV APP_ENV=production DB_PASSWORD="Vq8#mT2!xR9@kL4p" \
    LOG_LEVEL=info
# a neutral name does not hide a token the secret scanner knows
ENV DEPLOY_HELPER ghp_R8mK2vX9qL4tW7nB3cF6hJ1pZ5sD0gY2aE8u
ARG NPM_TOKEN=npm_kJ8sLm2Qx9Rt4Vw7Yz3Bc6Df1Gh5
USER 10001
HEALTHCHECK CMD ["/app", "health"]
