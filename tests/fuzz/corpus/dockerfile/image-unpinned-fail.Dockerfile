# expect: docker.image-unpinned:3
# expect: docker.image-unpinned:6
FROM node AS build
COPY . /app
RUN cd /app && npm ci && npm run build
FROM nginx:latest
COPY --from=build /app/dist /usr/share/nginx/html
USER nginx
HEALTHCHECK CMD curl -fsS http://127.0.0.1/ || exit 1
