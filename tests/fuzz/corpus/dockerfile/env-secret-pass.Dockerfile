# Names that point at a secret, build arguments without a default, values
# taken from variables, numbers and switches are not credentials.
FROM python:3.12-slim AS build
ARG PIP_INDEX_TOKEN
RUN --mount=type=secret,id=pip_token \
    PIP_INDEX_URL="https://__token__:$(cat /run/secrets/pip_token)@pypi.example.com/simple" \
    pip wheel -w /wheels -r requirements.txt

FROM python:3.12-slim
ENV DB_PASSWORD_FILE=/run/secrets/db_password \
    TOKEN_TTL_SECONDS=3600 \
    SECRET_ROTATION_ENABLED=true \
    API_KEY=${API_KEY} \
    SESSION_SECRET= \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /wheels /wheels
USER 10001
HEALTHCHECK CMD ["python", "-m", "app.health"]
