import os
import tempfile

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# kiosk publish remembers what it learnt about pictures in the user's cache: not this machine's, in tests
os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="kiosk-tests-cache-"))


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


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 MiB tmpfs (tests/disk.py); skips where mounting is impossible."""
    from disk import SmallDisk

    disk = SmallDisk(tmp_path / "disk")
    yield disk
    disk.close()


@pytest.fixture
def served(tmp_path):
    """A static server (tests/servers.py) for the content tree at tmp_path/out."""
    from servers import StaticServer

    server = StaticServer(tmp_path / "out")
    yield server
    server.close()


@pytest.fixture
def serve(tmp_path):
    """A real static server for a content tree: nginx where installed, else the small Python one."""
    from servers import Nginx, StaticServer

    started = []

    def start(root):
        server = Nginx(root, tmp_path / f"nginx{len(started)}") if Nginx.available() else StaticServer(root)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
