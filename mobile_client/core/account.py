"""My account: the server address, signing in and out, my data (export, delete)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mobile_client.core.api import ApiClient, ApiError, Offline
from mobile_client.core.auth import Credentials, demo_token
from mobile_client.core.context import Context

ME_FILE = "me.json"  # my display name, for the screens while offline


class Account:
    """Sign-in and the account's own data; the token is kept in the data folder."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def set_server(self, url: str) -> None:
        ctx = self.ctx
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            ctx.state.update(message="The server address must start with http:// or https://")
            return
        ctx.creds.server_url = url
        ctx.client.close()
        ctx.client = ApiClient(url, ctx.creds.token)
        ctx.store.save(ctx.creds)
        ctx.state.update(server_url=url)

    def sign_in(self, token: str) -> dict[str, Any]:
        """Use ``token`` (a Firebase ID token, or a dev token on a dev server); checks it with
        ``GET /api/v1/me`` before keeping it."""
        ctx = self.ctx
        probe = ApiClient(ctx.creds.server_url, token.strip())
        try:
            me = probe.me()
        finally:
            probe.close()
        ctx.client.token = token.strip()
        ctx.creds = Credentials(ctx.creds.server_url, token.strip(), me["uid"])
        ctx.store.save(ctx.creds)
        ctx.write_json(ME_FILE, {"display_name": me.get("display_name")})
        ctx.state.update(
            signed_in=True,
            uid=me["uid"],
            display_name=me.get("display_name"),
            ward_code=me.get("ward_code"),
            online=True,
            # A name, never the account's id: without one, say how to set it.
            message=f"Signed in as {me['display_name']}"
            if me.get("display_name")
            else "Signed in. Add your name in Settings so contacts know it is you.",
        )
        return me

    def sign_in_demo(self) -> dict[str, Any]:
        return self.sign_in(demo_token(self.ctx.creds.server_url))

    def restore_session(self) -> dict[str, Any] | None:
        """Sign in again with the stored token, if any. Offline, the phone carries on as
        the person it was signed in as (an SOS still saves and goes when it can)."""
        if not self.ctx.creds.token:
            return None
        try:
            return self.sign_in(self.ctx.creds.token)
        except Offline:
            me = self.ctx.read_json(ME_FILE) or {}
            self.ctx.state.update(
                signed_in=True,
                uid=self.ctx.creds.uid,
                display_name=me.get("display_name"),
                online=False,
                message="No connection right now. Check your signal.",
            )
            return None

    def set_display_name(self, name: str) -> dict[str, Any]:
        """The name my contacts see on every screen, alert and watch page."""
        name = " ".join(name.split())
        if not name:
            raise ApiError(422, "Type the name your contacts know you by.", local=True)
        me = self.ctx.client.update_me({"display_name": name})
        shown = me.get("display_name") or name
        self.ctx.write_json(ME_FILE, {"display_name": shown})
        self.ctx.state.update(
            display_name=shown,
            notice={"kind": "name", "text": f"Your contacts now see you as {shown}."},
        )
        return me

    def set_my_phone(self, phone: str) -> dict[str, Any]:
        """My own number, which I may then share with chosen contacts (``share_phone``)."""
        me = self.ctx.client.update_me({"phone": phone.strip() or None})
        self.ctx.state.update(message="Your number is saved. Choose in Contacts who may see it.")
        return me

    def forget(self) -> None:
        """Sign out here: the queued work and the token are dropped."""
        ctx = self.ctx
        ctx.outbox.clear()
        ctx.write_json(ME_FILE, None)
        ctx.creds = ctx.store.clear_token()
        ctx.client.token = None
        ctx.state.update(
            signed_in=False, uid=None, journey=None, contacts=[], watching=None, alerts=[]
        )
        ctx.refresh_outbox_counts()

    def export_data(self) -> Path:
        """Download everything the server holds about me into the app's folder."""
        data = self.ctx.client.export_me()
        path = self.ctx.data_dir / f"safehaven-export-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        self.ctx.state.update(message=f"Your data was saved to {path}")
        return path

    def delete_on_server(self) -> None:
        self.ctx.client.delete_me()
