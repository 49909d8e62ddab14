# The final stage starts FROM an earlier stage that already switched to
# a non-root user: the user carries over.
FROM python:3.12-slim AS base
RUN useradd --uid 10001 app
USER app

FROM base AS final
COPY --chown=app:app . /srv
HEALTHCHECK CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["python", "/srv/main.py"]
