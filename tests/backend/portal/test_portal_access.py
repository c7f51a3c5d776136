"""Portal sign-in, sessions, CSRF, security headers and role checks (test client)."""

from __future__ import annotations

import pytest

from tests.backend.portal.helpers import csrf_from, sign_in, token_for


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/portal/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/portal/sign-in?next=/portal/users")


def test_dev_sign_in_lists_demo_users_and_staff(client, venue_staff, admin, make_person):
    make_person("demo-resident")
    html = client.get("/portal/sign-in").get_data(as_text=True)
    assert "Sign in as staff-carol" in html
    assert "Sign in as admin-dave" in html
    assert "Sign in as demo-resident" in html
    assert "resident-alice" not in html  # ordinary residents are not listed


def test_staff_sign_in_sets_a_hardened_session_cookie(client, venue_staff):
    response = sign_in(client, venue_staff.uid)
    assert response.status_code == 303 and response.headers["Location"] == "/portal/"
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("safehaven_portal=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/portal" in cookie
    assert "Secure" in cookie  # testing is not development
    home = client.get("/portal/")
    assert home.status_code == 200 and "Welcome, staff-carol" in home.get_data(as_text=True)


def test_cookie_is_not_secure_in_development(database_url, venue_staff):
    from tests.support.apps import make_test_app

    dev_app = make_test_app(database_url, env={"SAFEHAVEN_ENV": "development"})
    with dev_app.app_context():
        response = sign_in(dev_app.test_client(), venue_staff.uid)
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("safehaven_portal=")
    )
    assert "Secure" not in cookie and "HttpOnly" in cookie


def test_a_resident_cannot_enter_the_portal(client, resident):
    response = sign_in(client, resident.uid)
    assert response.status_code == 403
    assert "for venue staff and partnership staff" in response.get_data(as_text=True)
    assert client.get("/portal/").status_code == 302  # no session was made


def test_someone_demoted_to_resident_loses_their_session(client, app, venue_staff, admin):
    from backend.auth.service import ensure_user

    sign_in(client, venue_staff.uid)
    assert client.get("/portal/").status_code == 200
    ensure_user(venue_staff.uid, "resident")
    assert client.get("/portal/").status_code == 403


def test_form_without_csrf_token_is_refused(client, admin, resident):
    sign_in(client, admin.uid)
    response = client.post(f"/portal/users/{resident.id}/role", data={"role": "venue_staff"})
    assert response.status_code == 400
    assert "csrf_token" in response.get_data(as_text=True)
    forged = client.post(
        f"/portal/users/{resident.id}/role", data={"role": "venue_staff", "csrf_token": "0" * 64}
    )
    assert forged.status_code == 400


def test_sign_in_form_without_csrf_token_is_refused(client, admin):
    response = client.post("/portal/sign-in/dev", data={"uid": admin.uid})
    assert response.status_code == 400
    assert client.get("/portal/").status_code == 302


def test_csrf_token_of_one_browser_fails_in_another(app, admin, venue_staff):
    first, second = app.test_client(), app.test_client()
    sign_in(first, admin.uid)
    sign_in(second, admin.uid)
    stolen = token_for(first)
    response = second.post(
        f"/portal/users/{venue_staff.id}/role", data={"role": "admin", "csrf_token": stolen}
    )
    assert response.status_code == 400


def test_api_does_not_need_csrf(client, admin, resident):
    response = client.put(
        f"/api/v1/users/{resident.id}/role", json={"role": "venue_staff"}, headers=admin.headers
    )
    assert response.status_code == 200


def test_admin_grants_and_removes_roles(client, admin, resident):
    sign_in(client, admin.uid)
    token = token_for(client, "/portal/users")
    response = client.post(
        f"/portal/users/{resident.id}/role", data={"role": "venue_staff", "csrf_token": token}
    )
    assert response.status_code == 303
    page = client.get("/portal/users?role=venue_staff").get_data(as_text=True)
    assert "resident-alice" in page
    client.post(f"/portal/users/{resident.id}/role", data={"role": "resident", "csrf_token": token})
    assert "resident-alice" not in client.get("/portal/users?role=venue_staff").get_data(
        as_text=True
    )


def test_unknown_role_is_a_clear_422(client, admin, resident):
    sign_in(client, admin.uid)
    token = token_for(client)
    response = client.post(
        f"/portal/users/{resident.id}/role", data={"role": "overlord", "csrf_token": token}
    )
    assert response.status_code == 422 and "role" in response.get_data(as_text=True)
    assert client.get("/portal/users?role=overlord").status_code == 422


def test_venue_staff_cannot_use_the_users_page(client, venue_staff, resident):
    sign_in(client, venue_staff.uid)
    assert client.get("/portal/users").status_code == 403
    token = token_for(client)
    response = client.post(
        f"/portal/users/{resident.id}/role", data={"role": "admin", "csrf_token": token}
    )
    assert response.status_code == 403


def test_sign_out_ends_the_session_on_the_server(client, admin):
    response = sign_in(client, admin.uid)
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("safehaven_portal=")
    )
    session_token = cookie.split(";")[0].split("=", 1)[1]
    client.post("/portal/sign-out", data={"csrf_token": token_for(client)})
    assert client.get("/portal/").status_code == 302
    replay = client.get("/portal/", headers={"Cookie": f"safehaven_portal={session_token}"})
    assert replay.status_code == 302


def test_open_redirect_after_sign_in_is_refused(client, admin):
    page = client.get("/portal/sign-in").get_data(as_text=True)
    response = client.post(
        "/portal/sign-in/dev",
        data={"uid": admin.uid, "csrf_token": csrf_from(page), "next": "https://evil.example/"},
    )
    assert response.headers["Location"] == "/portal/"


@pytest.mark.parametrize("path", ["/portal/sign-in", "/portal/static/portal.css"])
def test_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    response.close()


def test_pages_have_no_inline_scripts_or_styles(client, admin):
    sign_in(client, admin.uid)
    for path in ("/portal/", "/portal/users", "/portal/sign-in"):
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html and "onclick" not in html


def test_opening_hours_check_previews_in_plain_english(client, venue_staff):
    from datetime import UTC, datetime

    from backend.portal.service import hours_preview

    saturday_0130 = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
    assert hours_preview("Fr-Sa 17:00-02:00", saturday_0130).summary == "Open now - closes 02:00"
    tuesday_0130 = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    assert (
        hours_preview("Fr-Sa 17:00-02:00", tuesday_0130).summary == "Closed now - opens Fri 17:00"
    )
    assert hours_preview("24/7", tuesday_0130).summary == "Open now - always open"
    bad = hours_preview("Mo-Fr 25:00-26:00", tuesday_0130)
    assert not bad.valid and bad.error
    sign_in(client, venue_staff.uid)
    body = client.get("/portal/opening-hours/check?value=nonsense").get_json()
    assert body["valid"] is False
    assert client.get("/portal/opening-hours/check?value=24/7").get_json()["valid"] is True


def test_every_portal_page_is_strict_about_scripts_and_styles(app, client, admin):
    sign_in(client, admin.uid)
    pages = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/portal")
        and not rule.arguments
        and "GET" in rule.methods
        and not rule.rule.endswith((".csv", "/check", "/sign-in"))
    )
    assert "/portal/users" in pages and len(pages) >= 4
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and " on" + "click=" not in html
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
