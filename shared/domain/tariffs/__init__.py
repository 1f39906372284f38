"""Built-in Polish time-of-use tariffs: one data file per operator under `data/`, a tiny loader, the model."""

from shared.domain.tariffs.holidays_pl import is_public_holiday
from shared.domain.tariffs.loader import OPERATORS, available_tariffs, load_tariff
from shared.domain.tariffs.model import Season, Tariff, ZoneSpan

__all__ = ["OPERATORS", "Season", "Tariff", "ZoneSpan", "available_tariffs", "is_public_holiday", "load_tariff"]
