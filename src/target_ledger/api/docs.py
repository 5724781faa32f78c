"""Interactive docs that work offline: Swagger UI from the installed swagger-ui-bundle-v2 package."""

from collections.abc import Callable
from typing import Any

from litestar import Litestar, Request, Router
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/schema/assets"  # under the OpenAPI router's path (/schema), public like the rest of it
Amend = Callable[[dict[str, Any], Litestar], dict[str, Any]]


class Amended:
    """litestar's document (built once per app) as amended, amended once (the app: its handlers' types)."""

    def __init__(self, amend: Amend) -> None:
        self.amend = amend
        self.source: dict[str, Any] | None = None
        self.document: dict[str, Any] = {}

    def __call__(self, source: dict[str, Any], app: Litestar) -> dict[str, Any]:
        if source is not self.source:  # held, so another app's document is never taken for it
            self.source, self.document = source, self.amend(source, app)
        return self.document


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI whose script, styles and icon come from this server, never from a CDN."""

    def __init__(self, amend: Amend) -> None:
        super().__init__(
            path="/docs",
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
        )
        self.amend = Amended(amend)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:  # type: ignore[type-arg]
        return super().render(request, self.amend(openapi_schema, request.app))

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)
        # Served from the installed package's own directory: nothing third-party is copied into the repo.
        router.register(create_static_files_router(path="/assets", directories=[str(swagger_ui_path)]))


class AmendedJson(JsonRenderPlugin):
    """/schema/openapi.json: the document as amended (api/openapi.py)."""

    def __init__(self, amend: Amend) -> None:
        super().__init__()
        self.amend = Amended(amend)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:  # type: ignore[type-arg]
        return super().render(request, self.amend(openapi_schema, request.app))
