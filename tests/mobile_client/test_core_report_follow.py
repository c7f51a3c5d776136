"""A report the resident can follow, from the app core against the live server: sent with a
pin and a photo carrying GPS EXIF, stored without it, its reference shown, the officer's
public note in "My reports" and in a push (FCM intercepted at its HTTP boundary); an
anonymous report followed only with the receipt kept on this phone."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import select

SEEN = datetime.now(UTC) - timedelta(hours=1)
GPS_IFD = 0x8825


def gps_photo(path) -> str:  # type: ignore[no-untyped-def]
    """A real JPEG with the GPS position, camera and time a phone writes into it."""
    image = Image.new("RGB", (800, 600), (40, 40, 60))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0132] = "2026:12:05 23:41:07"
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2], gps[3], gps[4] = "N", (53.0, 32.0, 42.6), "W", (2.0, 37.0, 48.0)
    image.save(path, "JPEG", exif=exif)
    with Image.open(path) as check:
        assert check.getexif().get_ifd(GPS_IFD)  # the file really carries a position
    return str(path)


def stored_photos(reference: str) -> list[bytes]:
    from backend.extensions import db
    from backend.reports.models import Report, ReportPhoto

    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ReportPhoto.data).join(Report).where(Report.reference == reference)
        )
    )


def test_a_report_with_a_pin_and_a_photo_is_followed_to_the_officers_note(
    app, core_factory, resident, admin, tmp_path, client
):
    import firebase_admin

    from backend.alerts.fcm import fcm_pusher
    from backend.alerts.worker import run_once
    from tests.support.fcm import intercepted_fcm

    core = core_factory(resident)
    device = "resident-phone-" + "c" * 60
    core.client.register_device(device)
    core.set_position(53.5456, -2.6318)
    assert core.pin_report_here()["label"] == "Where you are now"
    pin = core.pin_report_place("WN1 1AA")  # the resident moves the pin to a postcode
    assert core.state.report_pin == pin
    assert pin["label"] == "WN1 1AA (postcode, Wigan Central ward)"
    core.add_report_photo(gps_photo(tmp_path / "IMG_0001.jpg"))
    result = core.submit_report(
        "drug_dealing", "Dealing from a car outside the flats", anonymous=False, observed_at=SEEN
    )
    assert (result.sent, result.failed) == (1, 0)
    reference = core.state.last_report["reference"]
    assert reference.startswith("WGN-") and reference in core.state.notice["text"]
    assert core.state.last_report["photos_sent"] == 1 and core.state.report_photos == []

    photos = stored_photos(reference)
    assert len(photos) == 1
    with Image.open(io.BytesIO(photos[0])) as image:
        assert dict(image.getexif()) == {} and "exif" not in image.info
    assert b"PhoneMaker" not in photos[0]

    from backend.extensions import db
    from backend.reports.models import Report

    report = db.session.scalar(select(Report).where(Report.reference == reference))
    assert (round(report.lat, 4), round(report.lon, 4)) == (
        round(pin["lat"], 4),
        round(pin["lon"], 4),
    )
    note = "Officers visited the flats on Friday; please keep reporting."
    changed = client.patch(
        f"/api/v1/reports/{report.id}",
        json={"status": "acknowledged", "public_note": note},
        headers=admin.headers,
    )
    assert changed.status_code == 200
    fb_app, fake = intercepted_fcm("app-report-follow")
    try:
        run_once(app, fcm_pusher(fb_app))
    finally:
        firebase_admin.delete_app(fb_app)
    assert [m["message"]["token"] for m in fake.requests] == [device]
    assert fake.requests[0]["message"]["notification"] == {
        "title": f"Your report {reference}: acknowledged",
        "body": note,
    }
    mine = core.load_my_reports()
    assert mine[0]["reference"] == reference
    assert mine[0]["status"] == "acknowledged" and mine[0]["public_note"] == note


def test_an_anonymous_report_is_followed_by_the_receipt_on_this_phone_only(
    core_factory, resident, other_resident, admin, client, tmp_path
):
    from backend.extensions import db
    from backend.reports.models import Report

    core = core_factory(resident)
    core.add_report_photo(gps_photo(tmp_path / "IMG_0002.jpg"))
    core.submit_report(
        "environment", "Lights out all along the canal path", anonymous=True,
        postcode="WN1 1AA", observed_at=SEEN,
    )  # fmt: skip
    record = core.state.last_report
    assert record["anonymous"] is True and record["receipt"]
    assert record["photos_sent"] == 1  # sent with the receipt, without the sign-in token
    report = db.session.scalar(select(Report).where(Report.reference == record["reference"]))
    assert report.user_id is None
    kept = json.loads((core.ctx.data_dir / "reports.json").read_text())
    assert kept["sent"][0]["receipt"] == record["receipt"]  # on this phone, nowhere else
    client.patch(
        f"/api/v1/reports/{report.id}",
        json={"status": "in_progress", "public_note": "Lighting contractor booked"},
        headers=admin.headers,
    )
    followed = [r for r in core.load_my_reports() if r["reference"] == record["reference"]]
    assert followed[0]["public_note"] == "Lighting contractor booked"
    elsewhere = core_factory(other_resident)
    assert all(r["reference"] != record["reference"] for r in elsewhere.load_my_reports())


def test_photos_wait_for_the_report_when_offline(core_factory, live_server, resident, tmp_path):
    core = core_factory(resident)
    core.set_position(53.5456, -2.6318)
    core.pin_report_here()
    core.add_report_photo(gps_photo(tmp_path / "IMG_0003.jpg"))
    live_server.stop()
    result = core.submit_report(
        "asb", "Fireworks at the bus stop", anonymous=False, observed_at=SEEN
    )
    assert result.offline and core.state.last_report is None  # no reference until the server has it
    assert "saved" in core.state.notice["text"]
    live_server.start()
    core.flush(force=True)
    record = core.state.last_report
    assert record["reference"].startswith("WGN-") and record["photos_sent"] == 1
    assert len(stored_photos(record["reference"])) == 1


def test_a_place_typed_in_words_moves_the_pin_and_names_it_or_says_what_is_accepted(
    core_factory, resident
):
    """The borough gazetteer on the live server: a town and a street with its town give a
    named pin; a place it does not hold leaves the pin where it was and says, in words,
    exactly what is accepted (not a field name)."""
    import pytest

    from backend.areas import gazetteer
    from mobile_client.core.api import ApiError

    core = core_factory(resident)
    pin = core.pin_report_place("Hindley")
    assert pin["label"] == "Hindley (town or village, Hindley ward)"
    assert pin["query"] == "Hindley" and pin["others"] == ["Hindley ward"]
    street = core.pin_report_place("Market Street, Hindley")
    assert street["label"] == "Market Street, Hindley (street, Hindley ward)"
    best = gazetteer.resolve("Market Street, Hindley")[0]
    assert (street["lat"], street["lon"]) == (best.lat, best.lon)
    with pytest.raises(ApiError) as refused:
        core.pin_report_place("Wigan Pier")
    message = refused.value.field_message()
    assert message.startswith("'Wigan Pier' is not a place we can find in Wigan Borough")
    assert gazetteer.ACCEPTED in message
    assert core.state.report_pin == street  # the pin did not move
    assert core.state.report_place_problem == message  # shown under the field until next try
    core.pin_report_place("Market Street, Hindley")
    assert core.state.report_place_problem == ""
    result = core.submit_report("asb", "Shouting and bottles thrown", anonymous=True)
    assert result.sent == 1
    from backend.extensions import db
    from backend.reports.models import Report

    stored = db.session.scalars(select(Report).order_by(Report.id.desc())).first()
    assert (stored.lat, stored.lon, stored.ward_code) == (best.lat, best.lon, best.ward_code)
