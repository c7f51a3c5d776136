"""Report photos: a real JPEG carrying GPS EXIF is stored without any metadata; the type is
read from the content; at most 3, a size limit; only the sender adds them; never public
until an officer marks one, and only then does Open311 serve its media_url."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from backend.extensions import db
from backend.reports.models import ReportPhoto
from tests.support.reports import WIGAN_CENTRAL

GPS_IFD = 0x8825


def jpeg_with_gps(size=(640, 480), orientation: int | None = None) -> bytes:  # type: ignore[no-untyped-def]
    """A real JPEG from a camera-like encoder: GPS position, device make/model, time."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 200), (0, 0, size[0] // 2, size[1] // 4))  # a mark to see rotation
    exif = Image.Exif()
    exif[0x010F] = "SafeHavenTestCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    exif[0x0132] = "2026:12:05 23:41:07"  # DateTime
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (53.0, 32.0, 42.6)
    gps[3] = "W"
    gps[4] = (2.0, 37.0, 48.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    raw = out.getvalue()
    # The fixture is what it claims to be: Pillow reads the GPS back from it.
    with Image.open(io.BytesIO(raw)) as check:
        assert check.getexif().get_ifd(GPS_IFD)[2] == (53.0, 32.0, 42.6)
    return raw


def send(client, headers=None, anonymous=False):  # type: ignore[no-untyped-def]
    body = {
        "category": "asb",
        "description": "Group throwing bottles at the bus stop",
        "lat": WIGAN_CENTRAL[0],
        "lon": WIGAN_CENTRAL[1],
        "anonymous": anonymous,
    }
    response = client.post("/api/v1/reports", json=body, headers=headers or {})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def upload(client, reference, raw, headers=None, name="photo.jpg"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/reports/{reference}/photos",
        data={"photo": (io.BytesIO(raw), name)},
        headers=headers or {},
        content_type="multipart/form-data",
    )


def stored(photo_id: int) -> bytes:
    return db.session.scalar(select(ReportPhoto.data).where(ReportPhoto.id == photo_id))


def test_a_photo_with_gps_exif_is_stored_without_any_metadata(client, resident):
    sent = send(client, resident.headers)
    response = upload(client, sent["reference"], jpeg_with_gps(), resident.headers)
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert photo["content_type"] == "image/jpeg"
    assert photo["public"] is False
    data = stored(photo["id"])
    assert b"Exif" not in data
    assert b"SafeHavenTestCam" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
        assert image.getexif().get_ifd(GPS_IFD) == {}
        assert "exif" not in image.info
        assert image.size == (640, 480)
    mine = client.get("/api/v1/reports/mine", headers=resident.headers).get_json()
    assert [p["id"] for p in mine[0]["photos"]] == [photo["id"]]


def test_the_exif_orientation_is_applied_before_it_is_removed(client, resident):
    sent = send(client, resident.headers)
    response = upload(client, sent["reference"], jpeg_with_gps(orientation=6), resident.headers)
    assert response.status_code == 201
    with Image.open(io.BytesIO(stored(response.get_json()["id"]))) as image:
        assert image.size == (480, 640)  # turned upright, as the phone showed it


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        (b"%PDF-1.4 not a photo at all", "photo.jpg"),  # named .jpg, is not one
        (b"GIF89a" + b"\x00" * 40, "photo.gif"),
        (b"", "photo.jpg"),
    ],
)
def test_the_type_is_read_from_the_content_not_the_name(client, resident, raw, name):
    sent = send(client, resident.headers)
    response = upload(client, sent["reference"], raw, resident.headers, name=name)
    assert response.status_code == 422
    assert "photo" in response.get_json()["errors"]


def test_a_gif_is_refused_by_its_content(client, resident):
    image = Image.new("P", (20, 20))
    out = io.BytesIO()
    image.save(out, "GIF")
    sent = send(client, resident.headers)
    response = upload(client, sent["reference"], out.getvalue(), resident.headers, name="x.jpg")
    assert response.status_code == 422
    assert "GIF" in response.get_json()["errors"]["photo"][0]


def test_a_photo_over_the_size_limit_is_refused(app, client, resident):
    app.config["REPORT_PHOTO_MAX_BYTES"] = 20_000
    sent = send(client, resident.headers)
    noisy = Image.effect_noise((400, 400), 80).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=95)
    assert len(out.getvalue()) > 20_000
    response = upload(client, sent["reference"], out.getvalue(), resident.headers)
    assert response.status_code in (413, 422)
    assert response.get_json()["code"] == response.status_code


def test_at_most_three_photos(client, resident):
    sent = send(client, resident.headers)
    for _ in range(3):
        assert (
            upload(client, sent["reference"], jpeg_with_gps(), resident.headers).status_code == 201
        )
    fourth = upload(client, sent["reference"], jpeg_with_gps(), resident.headers)
    assert fourth.status_code == 409
    assert "photo" in fourth.get_json()["errors"]


def test_only_the_sender_adds_photos(client, resident, other_resident):
    named = send(client, resident.headers)
    anonymous = send(client, anonymous=True)
    raw = jpeg_with_gps()
    assert upload(client, named["reference"], raw, other_resident.headers).status_code == 404
    assert upload(client, named["reference"], raw).status_code == 404
    assert upload(client, anonymous["reference"], raw, resident.headers).status_code == 404
    wrong = {"X-Report-Receipt": "y" * 32}
    assert upload(client, anonymous["reference"], raw, wrong).status_code == 404
    right = {"X-Report-Receipt": anonymous["receipt"]}
    assert upload(client, anonymous["reference"], raw, right).status_code == 201


def test_open311_serves_a_photo_only_once_an_officer_makes_it_public(client, resident, admin):
    sent = send(client, resident.headers)
    photo = upload(client, sent["reference"], jpeg_with_gps(), resident.headers).get_json()
    token = db.session.scalar(select(ReportPhoto.token).where(ReportPhoto.id == photo["id"]))
    from backend.open311 import service as open311

    # An app report is listed only to a partner with a key (the keyless listing shows only
    # requests that arrived over Open311), and by its reference.
    key = open311.create_key("FixMyStreet")[1]
    one = f"/open311/v2/requests/{sent['reference']}.json?api_key={key}"
    assert client.get(f"/open311/v2/requests/{sent['reference']}.json").status_code == 404
    listed = client.get(one).get_json()[0]
    assert listed["media_url"] is None
    assert client.get(f"/open311/v2/media/{token}").status_code == 404
    assert (
        client.patch(
            f"/api/v1/reports/photos/{photo['id']}", json={"public": True}, headers=resident.headers
        ).status_code
        == 403
    )
    made_public = client.patch(
        f"/api/v1/reports/photos/{photo['id']}", json={"public": True}, headers=admin.headers
    )
    assert made_public.status_code == 200
    listed = client.get(one).get_json()[0]
    assert listed["media_url"] == f"http://localhost/open311/v2/media/{token}"
    served = client.get(f"/open311/v2/media/{token}")
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert served.data == stored(photo["id"])
    assert b"Exif" not in served.data


def test_erasure_deletes_the_persons_photos_public_ones_included(
    app, client, resident, other_resident, admin
):
    """A photo can show a face or a house: erasing the account deletes every photo the
    person sent (the one an officer made public too) from storage, and no route serves
    them; another person's photo stays."""
    from backend.open311 import service as open311
    from tests.backend.portal.helpers import sign_in

    mine = send(client, resident.headers, anonymous=False)
    public = upload(client, mine["reference"], jpeg_with_gps(), resident.headers).get_json()
    private = upload(client, mine["reference"], jpeg_with_gps(), resident.headers).get_json()
    theirs = send(client, other_resident.headers, anonymous=False)
    kept = upload(client, theirs["reference"], jpeg_with_gps(), other_resident.headers).get_json()
    assert (
        client.patch(
            f"/api/v1/reports/photos/{public['id']}", json={"public": True}, headers=admin.headers
        ).status_code
        == 200
    )
    tokens = dict(db.session.execute(select(ReportPhoto.id, ReportPhoto.token)).all())
    key = open311.create_key("FixMyStreet")[1]
    listing = f"/open311/v2/requests/{mine['reference']}.json?api_key={key}"
    assert client.get(listing).get_json()[0]["media_url"].endswith(tokens[public["id"]])
    assert client.get(f"/open311/v2/media/{tokens[public['id']]}").status_code == 200

    assert client.delete("/api/v1/me", headers=resident.headers).status_code == 200

    db.session.expire_all()
    gone = [public["id"], private["id"]]
    # Gone from storage: no row, so no bytes, under either id or token.
    assert db.session.scalars(select(ReportPhoto.id).where(ReportPhoto.id.in_(gone))).all() == []
    assert (
        db.session.scalars(
            select(ReportPhoto.id).where(ReportPhoto.token.in_([tokens[i] for i in gone]))
        ).all()
        == []
    )
    assert stored(kept["id"]) is not None and len(stored(kept["id"])) > 1000
    # No route serves them: Open311 (media and listing), the portal, the API.
    for photo_id in gone:
        assert client.get(f"/open311/v2/media/{tokens[photo_id]}").status_code == 404
        assert (
            client.patch(
                f"/api/v1/reports/photos/{photo_id}", json={"public": True}, headers=admin.headers
            ).status_code
            == 404
        )
    assert client.get(listing).get_json()[0]["media_url"] is None
    portal = app.test_client()
    assert sign_in(portal, admin.uid).status_code in (302, 303)
    for photo_id in gone:
        assert portal.get(f"/portal/reports/photos/{photo_id}").status_code == 404
    assert portal.get(f"/portal/reports/photos/{kept['id']}").status_code == 200
