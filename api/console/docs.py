"""`/docs` and `/redoc` from the vendored Swagger UI and ReDoc: they render with no internet, under the CSP.

FastAPI's own pages load both from a CDN and start Swagger UI with an inline script; here the page is
static HTML and the start-up code is a served file (`static/docs-init.js`), so no inline script runs.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>triage API · Swagger UI</title>
<link rel="stylesheet" href="/ui/static/vendor/swagger-ui/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-openapi="/openapi.json"></div>
<script src="/ui/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/ui/static/docs-init.js"></script>
</body></html>"""

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>triage API · ReDoc</title>
</head><body>
<redoc spec-url="/openapi.json" disable-search-indexing="true" hide-download-button="false"></redoc>
<script src="/ui/static/vendor/redoc/redoc.standalone.js"></script>
</body></html>"""


@router.get("/docs", response_class=HTMLResponse)
def swagger() -> HTMLResponse:
    return HTMLResponse(_SWAGGER)


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return HTMLResponse(_REDOC)
