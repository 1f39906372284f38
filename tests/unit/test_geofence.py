"""Geofence: great-circle distance, radius in metres or degrees, the edge of the circle."""

from __future__ import annotations

import math

import pytest

from shared.domain.geofence import METRES_PER_DEGREE, distance_m, is_home, radius_m

HOME = (52.2297, 21.0122)  # Warsaw


def test_known_distance_warsaw_to_krakow() -> None:
    assert distance_m(*HOME, 50.0647, 19.9450) == pytest.approx(252_000, rel=0.01)


def test_zero_distance_and_symmetry() -> None:
    assert distance_m(*HOME, *HOME) == 0
    a, b = (52.1, 21.3), (51.9, 20.7)
    assert distance_m(*a, *b) == pytest.approx(distance_m(*b, *a))


def test_degrees_radius_is_an_arc_of_a_great_circle() -> None:
    assert radius_m(None, 0.001) == pytest.approx(111.195, abs=0.01)
    assert radius_m(150.0, 0.001) == 150.0  # metres win over degrees


def test_a_point_exactly_on_the_radius_is_home_and_just_beyond_is_not() -> None:
    radius = radius_m(None, 0.001)
    north = HOME[0] + 0.001  # one thousandth of a degree of latitude is exactly the radius
    on_edge = distance_m(*HOME, north, HOME[1])
    assert on_edge == pytest.approx(radius, rel=1e-9)
    assert is_home(radius, radius) and not is_home(radius + 0.01, radius)
    assert is_home(distance_m(*HOME, HOME[0] + 0.000999, HOME[1]), radius)
    assert not is_home(distance_m(*HOME, HOME[0] + 0.00101, HOME[1]), radius)


def test_degrees_of_longitude_shrink_with_latitude_but_degrees_of_radius_do_not() -> None:
    # 0.001° east at 52° N is only ~68 m: home with a 0.001° radius, though the old code's
    # coordinate-difference test would have treated east and north the same.
    east = distance_m(*HOME, HOME[0], HOME[1] + 0.001)
    assert east == pytest.approx(METRES_PER_DEGREE * 0.001 * math.cos(math.radians(HOME[0])), rel=1e-3)
    assert is_home(east, radius_m(None, 0.001))
    assert not is_home(distance_m(*HOME, HOME[0], HOME[1] + 0.002), radius_m(None, 0.001))


def test_points_near_the_antimeridian_are_close_not_a_world_apart() -> None:
    assert distance_m(0.0, 179.9995, 0.0, -179.9995) == pytest.approx(111.2, abs=0.5)
