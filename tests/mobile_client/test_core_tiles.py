"""Tiles kept on the phone (no window): fetched once from the tile server, then read from the
cache folder, also with the server gone; what cannot be had is counted, not invented."""

from __future__ import annotations

from mobile_client.core.tiles import TileCache
from tests.support.tiles import TileServer, street_tile


def test_a_tile_is_fetched_once_then_read_from_the_cache_even_with_the_server_gone(tmp_path):
    server = TileServer()
    try:
        cache = TileCache(server.template, tmp_path)
        first = cache.get(15, 16144, 10591)
        assert first is not None and first.read_bytes() == street_tile(15, 16144, 10591)
        assert cache.get(15, 16144, 10591) == first
        assert (cache.fetched, cache.cached, cache.failed) == (1, 1, 0)
        assert server.requests == ["/15/16144/10591.png"]
    finally:
        server.stop()
    offline = TileCache(server.template, tmp_path)
    assert offline.get(15, 16144, 10591) == first
    assert offline.get(15, 16145, 10591) is None
    assert (offline.fetched, offline.cached, offline.failed) == (0, 1, 1)
    assert offline.shown_any
    assert not list(tmp_path.glob("*.part"))


def test_another_template_has_its_own_tiles_and_a_non_http_one_is_never_opened(tmp_path):
    a = TileCache("http://127.0.0.1:9/{z}/{x}/{y}.png", tmp_path)
    b = TileCache("file:///etc/{z}/{x}/{y}", tmp_path)
    assert a.path(1, 2, 3) != b.path(1, 2, 3)
    assert b.get(1, 2, 3) is None and b.failed == 1
    assert a.get(1, 2, 3) is None and a.failed == 1 and not a.shown_any
