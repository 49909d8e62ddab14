# The build stage may be root; the final one is not. Lower-case
# instructions and a USER taken from an ARG default are both read.
FROM node:20.11-bookworm AS deps
USER root
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM node:20.11-bookworm-slim AS final
ARG APP_UID=10001
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
run groupadd --gid ${APP_UID} app \
 && useradd --uid ${APP_UID} --gid app --no-create-home app
user ${APP_UID}:${APP_UID}
HEALTHCHECK CMD node healthcheck.js
CMD ["node", "server.js"]
