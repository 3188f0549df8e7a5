# Production image: gunicorn serving Django, the same image runs the Celery worker and beat.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext postgresql-client \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 crm
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY --from=assets /build/node_modules ./node_modules
COPY . .
# collectstatic and compilemessages need settings to import, not real secrets.
RUN DEBUG=false SECRET_KEY=build-only FIELD_ENCRYPTION_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    BLIND_INDEX_KEY=build-only-build-only-build-only-00 \
    sh -c "python manage.py collectstatic --no-input -v 0 && python manage.py compilemessages -v 0 --ignore=node_modules" \
 && mkdir -p /app/var && chown -R crm /app/var
USER crm
EXPOSE 8000
# Settings in gunicorn.conf.py (access log without query strings).
CMD ["gunicorn", "crm.wsgi:application"]
