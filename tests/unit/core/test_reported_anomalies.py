"""An answer carries at most MAX_REPORTED anomalies; the last one says how many more were found."""

from core.domain.errors import MAX_REPORTED, NOT_REPORTED, Anomaly, reported


def anomalies(count: int) -> list[Anomaly]:
    return [Anomaly("NUU101", f"anomalie {index}", f"p{index}") for index in range(count)]


def test_up_to_the_bound_every_anomaly_is_reported():
    assert reported(anomalies(MAX_REPORTED)) == anomalies(MAX_REPORTED)


def test_beyond_the_bound_the_last_anomaly_says_how_many_more():
    kept = reported(anomalies(119_001))
    assert len(kept) == MAX_REPORTED
    assert kept[:-1] == anomalies(MAX_REPORTED - 1)
    assert kept[-1].code == NOT_REPORTED
    assert kept[-1].complements == (("nombre", str(119_001 - (MAX_REPORTED - 1))),)
    assert f"{119_001 - (MAX_REPORTED - 1)} autres anomalies" in kept[-1].message
