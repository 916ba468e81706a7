"""The 18 cities' ISTAT and Belfiore codes, checked against python-codicefiscale's data."""

from __future__ import annotations

from codicefiscale.data import get_municipalities_data  # type: ignore[import-untyped]

from gateway.cities import cities, city, instrumental_bodies

EXPECTED = {
    "agrigento",
    "bologna",
    "bolzano",
    "caserta",
    "catania",
    "firenze",
    "genova",
    "latina",
    "milano",
    "napoli",
    "palermo",
    "perugia",
    "potenza",
    "roma",
    "sassari",
    "taranto",
    "torino",
    "trieste",
}


def test_the_eighteen_cities() -> None:
    assert {c.slug for c in cities()} == EXPECTED


def test_belfiore_codes_and_names_match_python_codicefiscale() -> None:
    active = {m["code"]: m for m in get_municipalities_data() if m["active"]}
    for c in cities():
        municipality = active[c.belfiore]
        assert municipality["name"] == c.name, c.slug
        assert municipality["province"] == c.province, c.slug


def test_istat_codes_are_six_digits_with_the_province_prefix() -> None:
    for c in cities():
        assert len(c.istat) == 6 and c.istat.isdigit(), c.slug
    assert city("roma").istat == "058091"
    assert city("bolzano").languages == ("it", "de")


def test_instrumental_bodies_act_for_their_cities() -> None:
    bodies = {b.slug: b.acts_for for b in instrumental_bodies()}
    assert bodies == {
        "anci-liguria": "genova",
        "assb-bolzano": "bolzano",
        "acta-potenza": "potenza",
    }
