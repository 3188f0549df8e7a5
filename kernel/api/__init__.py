"""The REST API's shared machinery (/api/v1/): the base view set every app's `api/` package
builds on, problem details, cursor pages, versions as ETags, idempotent POSTs and rate limits.
Each domain app owns its resources (customers/api/, interactions/api/, ...); crm/api.py wires
them under one router."""
