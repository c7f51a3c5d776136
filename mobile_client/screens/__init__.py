"""One module per screen; each screen's layout is in ``mobile_client/kv/<name>.kv``."""
