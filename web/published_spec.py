"""The published spec: openapi.yaml as written, at `<base>/openapi.yaml`, and the same document
in JSON at `<base>/openapi.json`, both needing no key.

Connexion would serve the document it routes with, in which every `$ref` is resolved: 20,000
lines of repeated schemas, which client generators cannot name and partly drop. This serves the
file's own document, its `$ref`s kept, with `servers` naming the base path the gateway answers
on (after the ASGI `root_path`, so behind a proxy's path prefix too). YAML anchors and merge
keys are expanded, as a YAML 1.2 reader would not know them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _PlainDumper(_Dumper):  # type: ignore[misc,valid-type]
    """Writes each repeated object in full: the merge keys share objects, which the dumper
    would otherwise write as `&id001` anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}


def base_path(spec: Mapping[str, Any]) -> str:
    """The path of the spec's first server: where its operations are served."""
    return str(((spec.get("servers") or [{}])[0]).get("url", "")).rstrip("/")


class PublishedSpec:
    """The document's YAML and JSON, each rendered once per `root_path` it is asked for."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.base_path = base_path(spec)
        self._rendered: dict[tuple[str, str], bytes] = {}

    def document(self, root_path: str = "") -> dict[str, Any]:
        return {**self.spec, "servers": [{"url": f"{root_path.rstrip('/')}{self.base_path}"}]}

    def rendered(self, media_type: str, root_path: str) -> bytes:
        key = (media_type, root_path)
        body = self._rendered.get(key)
        if body is None:
            document = self.document(root_path)
            if media_type == "application/json":
                body = orjson.dumps(document)
            else:
                text = yaml.dump(
                    document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=100
                )
                body = text.encode()
            self._rendered[key] = body
        return body

    def response(self, request: Request, media_type: str) -> Response:
        root_path = request.scope.get("root_path", "")
        return Response(self.rendered(media_type, root_path), media_type=media_type)

    async def json(self, request: Request) -> Response:
        return self.response(request, "application/json")

    async def yaml(self, request: Request) -> Response:
        return self.response(request, "application/yaml")


def publish(app: Any, spec: PublishedSpec) -> None:
    """Adds the two routes to a Connexion app whose API is added with `serve_spec=False`; its
    reference page reads `<base>/openapi.json`."""
    app.add_url_rule(f"{spec.base_path}/openapi.json", "openapi_json", spec.json)
    app.add_url_rule(f"{spec.base_path}/openapi.yaml", "openapi_yaml", spec.yaml)
