# Production image: gunicorn serving Django, the same image runs the Celery worker and beat.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# pg_dump must be at least the server's major version (docker-compose.yml runs PostgreSQL 16;
# Debian bookworm ships 15), so the client comes from the PostgreSQL project's own repository.
ARG PG_MAJOR=16
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gettext \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
      https://www.postgresql.org/media/keys/ACCC4CF8.asc \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 crm
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY --from=assets /build/node_modules ./node_modules
COPY . .
# collectstatic and compilemessages need settings to import, not real secrets (nor a mail
# server that answers: nothing is sent). manage.py creates files for its own account only
# (crm/__init__.py), so the compiled translations are opened to the crm user afterwards; var/
# becomes crm's and stays private.
RUN DEBUG=false SECRET_KEY=build-only FIELD_ENCRYPTION_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    BLIND_INDEX_KEY=build-only-build-only-build-only-00 EMAIL_URL=smtp://build-only.invalid \
    sh -c "python manage.py collectstatic --no-input -v 0 && python manage.py compilemessages -v 0 --ignore=node_modules" \
 && chmod -R a+rX /app/locale \
 && mkdir -p -m 700 /app/var/backups && chown -R crm /app/var
USER crm
EXPOSE 8000
# Settings in gunicorn.conf.py (access log without query strings).
CMD ["gunicorn", "crm.wsgi:application"]
