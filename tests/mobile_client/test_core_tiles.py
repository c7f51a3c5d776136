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


def sizes(*tiles: tuple[int, int, int]) -> list[int]:
    """What the test tile server sends for each tile (test tiles differ a little in size)."""
    return [len(street_tile(*tile)) for tile in tiles]


def row(*columns: int) -> list[tuple[int, int, int]]:
    return [(15, 16144 + column, 10591) for column in columns]


def test_the_cache_keeps_within_its_limit_and_lets_the_least_recently_used_tiles_go(tmp_path):
    server = TileServer()
    try:
        tiles = row(0, 1, 2, 3, 4, 5)
        limit = sum(sizes(*tiles[:5])) + 100  # room for five
        cache = TileCache(server.template, tmp_path, max_bytes=limit)
        for tile in tiles[:5]:
            assert cache.get(*tile) is not None
        assert cache.evicted == 0 and cache.total_bytes == limit - 100
        # The first tile is shown again: it is now the most recently used.
        assert cache.get(*tiles[0]) is not None and cache.cached == 1
        # A sixth goes over the limit: those used longest ago go, down to 90% of it.
        assert cache.get(*tiles[5]) is not None
        on_disk = {p.name for p in tmp_path.glob("*.png")}
        assert on_disk == {cache.path(*t).name for t in (tiles[0], *tiles[3:])}
        assert cache.evicted == 2
        assert cache.total_bytes == sum(p.stat().st_size for p in tmp_path.glob("*.png"))
        assert cache.total_bytes <= 0.9 * limit
        # A tile that went is fetched again when it is needed.
        before = len(server.requests)
        assert cache.get(*tiles[1]) is not None and len(server.requests) == before + 1
    finally:
        server.stop()


def test_the_order_of_use_survives_a_restart_and_a_smaller_limit_trims_at_once(tmp_path):
    server = TileServer()
    try:
        tiles = row(0, 1, 2, 3)
        first = TileCache(server.template, tmp_path)
        for tile in tiles:
            first.get(*tile)
        first.get(*tiles[0])  # shown last
    finally:
        server.stop()
    # Next start, with room for two: the two used longest ago go, the one used last stays.
    keep = sizes(tiles[0], tiles[3])
    again = TileCache(server.template, tmp_path, max_bytes=int(sum(keep) / 0.9) + 10)
    kept = {p.name for p in tmp_path.glob("*.png")}
    assert kept == {again.path(*tiles[0]).name, again.path(*tiles[3]).name}
    assert again.evicted == 2 and again.total_bytes == sum(keep)
    # Offline, what was kept is shown, what went is not invented.
    assert again.get(*tiles[0]) is not None and again.get(*tiles[1]) is None


def test_every_template_shares_the_one_limit(tmp_path):
    one, two = TileServer(), TileServer()
    try:
        tiles = row(0, 1, 2)
        limit = sum(sizes(*tiles)) + 100  # room for three
        a = TileCache(one.template, tmp_path, max_bytes=limit)
        for tile in tiles:
            a.get(*tile)
        b = TileCache(two.template, tmp_path, max_bytes=limit)
        assert b.total_bytes == a.total_bytes
        b.get(*tiles[0])
        b.get(*tiles[1])
        left = {p.name for p in tmp_path.glob("*.png")}
        assert left == {a.path(*tiles[2]).name, b.path(*tiles[0]).name, b.path(*tiles[1]).name}
        assert sum(p.stat().st_size for p in tmp_path.glob("*.png")) <= limit
    finally:
        one.stop()
        two.stop()
