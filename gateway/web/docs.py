"""`/docs` without Internet access: Swagger UI 5 comes from the installed `swagger-ui-bundle-v2`
package (Apache-2.0, the upstream Swagger UI release repackaged), not from a CDN.

Only the three files the page needs are served, by name from a fixed list.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse

ASSETS_PREFIX = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def add_offline_docs(app: FastAPI, *, title: str) -> None:
    folder = Path(swagger_ui_bundle.swagger_ui_path)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} — documentation de l'API",
            swagger_js_url=f"{ASSETS_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PREFIX}/favicon-32x32.png",
        )

    @app.get(f"{ASSETS_PREFIX}/{{name}}", include_in_schema=False)
    def docs_asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404)
        return FileResponse(folder / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
