"""Charge targets: a whole percentage from 50 to 100, the contract's range for a special-charging need (pure)."""

from __future__ import annotations

from typing import Any

from shared.errors import ValidationError

MIN_TARGET_SOC, MAX_TARGET_SOC = 50, 100


def check_target_soc(target: Any) -> int:
    """A whole percentage from 50 to 100 (the contract's range for a target)."""
    if target is None:
        raise ValidationError("target_soc is required: a whole percentage from 50 to 100")
    if isinstance(target, bool) or not isinstance(target, int):
        raise ValidationError("target_soc must be a whole number from 50 to 100")
    if not MIN_TARGET_SOC <= target <= MAX_TARGET_SOC:
        raise ValidationError(f"target_soc must be between {MIN_TARGET_SOC} and {MAX_TARGET_SOC}, got {target}")
    return target


def parse_target_soc(text: str) -> int:
    """A target as typed ("90" or "90%") checked like the worker checks it."""
    digits = text.strip().removesuffix("%").strip()
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError(f"the target must be a whole percentage from 50 to 100, got {text.strip()[:20]!r}")
    return check_target_soc(int(digits))
