"""`python -m worker_service`: serve the worker on 127.0.0.1:$PORT, with the embedded scheduler when local."""

from __future__ import annotations

import sys

from werkzeug.serving import make_server

from shared.errors import ConfigError
from shared.log import get_logger
from shared.settings import load_settings

log = get_logger("WORKER")


def main() -> int:
    """Run until interrupted; a configuration problem stops it with one line."""
    try:
        settings = load_settings(component="worker")
    except ConfigError as error:
        print(f"worker: configuration error: {error.message}", file=sys.stderr)
        return 2
    from worker_service.app import create_app

    app = create_app(settings)
    services = app.extensions["offpeak"]
    scheduler = services.scheduler
    runs_embedded = hasattr(scheduler, "start") and settings.backend == "local"
    if runs_embedded:
        scheduler.start()
    server = make_server("127.0.0.1", settings.port, app, threaded=True)
    log.info(f"worker listening on http://127.0.0.1:{settings.port} (backend {settings.backend})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if runs_embedded:
            scheduler.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
