"""The web console: the public models page and the console for key holders and operators (docs/console.md).

Server-rendered Jinja2 pages over the same services as the API (the catalog of ``GET /v1/models``, the admin
services, the ledger's rollups); the little JavaScript there is (copy buttons, the playground's stream) ships
in ``static/``. Nothing is fetched from elsewhere at run time.
"""
