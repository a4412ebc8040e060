"""Print the OpenAPI document (`make openapi` writes it to docs/openapi.json)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tickwork.api.app import create_app
from tickwork.config import Settings
from tickwork.service.container import Container


def document() -> dict[str, Any]:
    url = f"sqlite:///{Path(tempfile.gettempdir()) / 'tickwork-openapi.db'}"
    app = create_app(Container(Settings(database_url=url)), manage_lifecycle=False)
    return app.openapi()


def main() -> None:
    sys.stdout.write(json.dumps(document(), indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
