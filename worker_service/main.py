"""The gunicorn target: `gunicorn worker_service.main:app` (Cloud Run) builds the app from the environment."""

from __future__ import annotations

import sys

from shared.errors import ConfigError
from shared.settings import load_settings


def _build():  # type: ignore[no-untyped-def]
    from worker_service.app import create_app

    try:
        settings = load_settings(component="worker")
    except ConfigError as error:
        # One line naming the variable, then stop: a half-configured worker must not serve.
        print(f"worker: configuration error: {error.message}", file=sys.stderr)
        raise SystemExit(2) from None
    return create_app(settings)


app = _build()
