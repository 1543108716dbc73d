"""spacelift_backend: the Spacelift backend plugin (JSON API at /api/spacelift).

It holds the API key, exchanges it for a JWT, caches Spacelift's answers for every viewer, and
serves stacks and runs to the frontend plugin and to API clients. See docs/configuration.md
for its config block and GET /api/spacelift/openapi.json for its routes.
"""
