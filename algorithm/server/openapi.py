"""The server's OpenAPI schema as committed in docs/serve_openapi.json (a test keeps it current):

    python -m algorithm.server.openapi > docs/serve_openapi.json
"""

from __future__ import annotations

import json
import sys

from algorithm.methods.classical import GeodesicSegmenter
from algorithm.server.app import ServerSettings, create_app


def openapi_text() -> str:
    """The schema, which depends on no setting and no segmenter."""
    schema = create_app(ServerSettings(), GeodesicSegmenter()).openapi()
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_text())
