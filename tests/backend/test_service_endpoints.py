"""Health, OpenAPI and the docs page."""

from __future__ import annotations


def test_healthz_reports_database_and_broker(client, engine_name):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["engine"] == ("postgresql" if engine_name == "postgis" else "sqlite")
    assert body["broker"]["ok"] is True


def test_healthz_is_503_when_the_broker_is_unreachable(database_url):
    from tests.support.apps import make_test_app

    app = make_test_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["broker"] == {
        "ok": False,
        "kind": "redis",
        "failed": "ping",
        "error": "ConnectionError",
    }
    assert response.get_json()["failed"] == ["broker"]


def test_openapi_documents_every_api_route(app, client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    assert "Error" in spec["components"]["schemas"] or "ErrorSchema" in str(
        spec["components"]["schemas"]
    )
    documented = {path.replace("{", "<").replace("}", ">") for path in spec["paths"]}
    api_rules = {
        r.rule
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/") and "_for_test" not in r.rule
    }
    undocumented = {
        rule for rule in api_rules if _normalise(rule) not in {_normalise(p) for p in documented}
    }
    assert undocumented == set()


def _normalise(rule: str) -> str:
    import re

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"<\1>", rule)


def test_docs_page_and_its_assets_are_served_offline(client):
    page = client.get("/docs")
    assert page.status_code == 200 and b"swagger" in page.data.lower()
    asset = client.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000
    asset.close()


def test_seed_command_loads_wigan_and_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", "wigan"])
    assert first.exit_code == 0, first.output
    # The session's app already holds the wards and postcodes; the rest is new.
    assert "wards: imported 0, updated 0, skipped 25 (25 unchanged)" in first.output
    assert "postcodes: imported 0, updated 0, skipped 7643 (7643 unchanged)" in first.output
    assert "users: imported 4, updated 0, skipped 0 (none)" in first.output
    assert "imported 141, updated 0, skipped 0 (none)" in first.output
    second = runner.invoke(args=["seed", "wigan"])
    assert second.exit_code == 0 and "seed wigan: done" in second.output
    # A second run says what it did: nothing.
    assert "wards: imported 0, updated 0, skipped 25 (25 unchanged)" in second.output
    assert "postcodes: imported 0, updated 0, skipped 7643 (7643 unchanged)" in second.output
    assert "users: imported 0, updated 0, skipped 4 (4 unchanged)" in second.output
    assert "imported 0, updated 0, skipped 141 (141 unchanged)" in second.output


def test_dev_token_command_prints_a_working_token(app, client):
    result = app.test_cli_runner().invoke(args=["dev-token", "cli-user", "--role", "venue_staff"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["uid"] == "cli-user" and body["role"] == "venue_staff"


def test_dev_token_without_role_keeps_the_users_role_and_says_which(app, client, make_person):
    make_person("cli-admin", "admin")
    result = app.test_cli_runner().invoke(args=["dev-token", "cli-admin"])
    assert result.exit_code == 0, result.output
    assert "role admin" in result.stderr
    token = result.stdout.strip()
    assert token.startswith("dev.") and "\n" not in token
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["role"] == "admin"


def test_dev_token_for_a_new_user_makes_a_resident(app, client):
    result = app.test_cli_runner().invoke(args=["dev-token", "cli-newcomer"])
    assert result.exit_code == 0, result.output
    assert "role resident" in result.stderr
    body = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {result.stdout.strip()}"}
    ).get_json()
    assert body["role"] == "resident"
