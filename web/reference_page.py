"""The API reference page, `<base>/reference/`: Swagger UI 5 (which reads OpenAPI 3.1) from the
`swagger-ui-py` package installed with the gateway, so the page works offline and no copy of
Swagger UI lives in the repository. Connexion's own page would need the page template and the
assets in one directory, and its `swagger-ui-bundle` package ships Swagger UI 4, which cannot
read a 3.1 document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from domain.errors import NotFound

ASSETS = Path(swagger_ui.__file__).resolve().parent / "static"
SERVED = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
          "favicon-16x16.png", "favicon-32x32.png")  # fmt: skip

PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Writingmate Gateway API reference</title>
    <link rel="stylesheet" type="text/css" href="./swagger-ui.css" />
    <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="./favicon-16x16.png" sizes="16x16" />
    <style>
      html { box-sizing: border-box; overflow-y: scroll; }
      *, *:before, *:after { box-sizing: inherit; }
      body { margin: 0; background: #fafafa; }
    </style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script>
      window.onload = function () {
        window.ui = SwaggerUIBundle({
          url: "../openapi.json",
          validatorUrl: null,
          dom_id: "#swagger-ui",
          deepLinking: true,
          presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
          layout: "StandaloneLayout",
        });
      };
    </script>
  </body>
</html>
"""


async def page(_request: Request) -> Response:
    return HTMLResponse(PAGE)


async def to_page(request: Request) -> Response:
    return RedirectResponse(f"{request.url.path}/")


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in SERVED:
        raise NotFound(f"Unknown request URL: no file {name!r} here.", code="unknown_url")
    return FileResponse(ASSETS / name, headers={"cache-control": "public, max-age=86400"})


def publish(app: Any, base_path: str) -> None:
    """Adds the page and its assets to a Connexion app (whose own page is off)."""
    app.add_url_rule(f"{base_path}/reference", "reference_redirect", to_page)
    app.add_url_rule(f"{base_path}/reference/", "reference_page", page)
    app.add_url_rule(f"{base_path}/reference/{{name}}", "reference_asset", asset)
