import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


import pytest  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def hub_database(request, tmp_path):
    """A database URL for the hub: an SQLite file, then a fresh schema in the real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'hub.sqlite'}"
        return
    from hubs import postgres_reachable, postgres_schema

    why = postgres_reachable()
    if why:
        pytest.skip(why)
    with postgres_schema() as url:
        yield url
