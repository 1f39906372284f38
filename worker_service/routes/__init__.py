"""The worker's thin HTTP layer: one blueprint per area."""

from worker_service.routes import cycle, health, meta, plan, special, status, tokens

ALL_BLUEPRINTS = [health.bp, tokens.bp, cycle.bp, special.bp, plan.bp, meta.bp, status.bp]
