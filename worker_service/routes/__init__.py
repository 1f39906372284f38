"""The worker's thin HTTP layer: one blueprint per area."""

from worker_service.routes import health, meta, tokens

ALL_BLUEPRINTS = [health.bp, tokens.bp, meta.bp]
