"""Is the car at home? Great-circle distance against a radius in metres or, as the original deployment had it, degrees."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180  # one degree of a great circle, ≈ 111,195 m


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres between two WGS84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def radius_m(radius_meters: float | None, radius_degrees: float) -> float:
    """HOME_RADIUS_METERS when set, else HOME_RADIUS degrees of arc in metres (0.001° ≈ 111 m)."""
    if radius_meters is not None:
        return radius_meters
    return radius_degrees * METRES_PER_DEGREE


def is_home(distance: float, radius: float) -> bool:
    """Inside or exactly on the radius counts as home."""
    return distance <= radius
