import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from kiosk.content import manifest
from kiosk.content import media as mediamod
from kiosk.problems import InvalidInput
from kiosk.source import publish, signing

ROOT = Path(__file__).resolve().parent.parent


def authoring(folder: Path, slides: str, images: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, colour in (images or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 24), colour).save(folder / name)
    (folder / "programme.yaml").write_text("slides:\n" + slides, encoding="utf-8")
    return folder


SLIDES = """\
  - id: lich
    title: Lịch tiếp công dân
    body: Sáng thứ Năm
    valid_from: 2026-12-01
    hours: "07:00-11:30"
  - id: anh
    file: images/le-hoi.png
"""


def tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_publish_writes_manifest_and_media_named_by_their_sha256(tmp_path):
    src = authoring(tmp_path / "src", SLIDES, {"images/le-hoi.png": "red"})
    summary = publish.publish(src, tmp_path / "out", None)
    assert "2 slides" in summary and "unsigned" in summary
    document = json.loads((tmp_path / "out" / "manifest.json").read_bytes())
    entry = document["media"]["images/le-hoi.png"]
    assert (tmp_path / "out" / "media" / entry["sha256"]).read_bytes() == (src / "images/le-hoi.png").read_bytes()
    assert document["slides"][0]["title"] == "Lịch tiếp công dân"
    assert document["slides"][0]["valid_from"] == "2026-12-01"
    assert not (tmp_path / "out" / "manifest.json.sig").exists()


def test_republishing_unchanged_input_changes_no_byte_and_no_file(tmp_path):
    src = authoring(tmp_path / "src", SLIDES, {"images/le-hoi.png": "red"})
    key, _ = signing.keygen(tmp_path / "key")
    publish.publish(src, tmp_path / "out", key, now=1_000_000)
    before = tree(tmp_path / "out")
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*")}
    summary = publish.publish(src, tmp_path / "out", key, now=2_000_000)
    assert "unchanged" in summary
    assert tree(tmp_path / "out") == before
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*")} == mtimes


def test_a_signed_tree_verifies_with_the_public_key(tmp_path):
    src = authoring(tmp_path / "src", SLIDES, {"images/le-hoi.png": "red"})
    key, pub = signing.keygen(tmp_path / "key")
    publish.publish(src, tmp_path / "out", key)
    data = (tmp_path / "out" / "manifest.json").read_bytes()
    signing.verify(signing.load_public_key(str(pub)), data, (tmp_path / "out" / "manifest.json.sig").read_bytes())
    publish.publish(src, tmp_path / "out", None)  # publishing unsigned removes the old signature
    assert not (tmp_path / "out" / "manifest.json.sig").exists()


def test_media_no_longer_referenced_stay_for_the_grace_period(tmp_path):
    src = authoring(tmp_path / "src", SLIDES, {"images/le-hoi.png": "red"})
    publish.publish(src, tmp_path / "out", None, now=1_000_000)
    old = json.loads((tmp_path / "out" / "manifest.json").read_bytes())["media"]["images/le-hoi.png"]["sha256"]
    authoring(src, SLIDES, {"images/le-hoi.png": "blue"})
    publish.publish(src, tmp_path / "out", None, now=1_000_100)
    assert (tmp_path / "out" / "media" / old).exists()  # a board mid-sync can still fetch it
    publish.publish(src, tmp_path / "out", None, now=1_000_100 + publish.GRACE_SECONDS - 1)
    assert (tmp_path / "out" / "media" / old).exists()
    publish.publish(src, tmp_path / "out", None, now=1_000_100 + publish.GRACE_SECONDS + 1)
    assert not (tmp_path / "out" / "media" / old).exists()
    assert len(list((tmp_path / "out" / "media").iterdir())) == 1


def test_a_path_with_dots_is_published_under_its_plain_name(tmp_path):
    src = authoring(tmp_path / "src", "  - {id: a, file: images/../images/x.png}\n", {"images/x.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    document = json.loads((tmp_path / "out" / "manifest.json").read_bytes())
    assert list(document["media"]) == ["images/x.png"] and document["slides"][0]["file"] == "images/x.png"
    manifest.decode((tmp_path / "out" / "manifest.json").read_bytes(), tmp_path)


def test_bad_input_refuses_to_publish_anything(tmp_path):
    src = authoring(tmp_path / "src", "  - id: ok\n    title: t\n  - id: bad\n    duration: soon\n    title: t\n")
    with pytest.raises(InvalidInput) as caught:
        publish.publish(src, tmp_path / "out", None)
    assert "programme.yaml:5: slides[1] (bad).duration" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_the_command_exits_2_with_file_and_line(tmp_path):
    src = authoring(tmp_path / "src", "  - id: a\n    file: images/missing.jpg\n")
    proc = subprocess.run([sys.executable, "-m", "kiosk", "publish", str(src), str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"{src / 'programme.yaml'}:3: slides[0] (a).file" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_publish_refuses_a_truncated_picture_and_an_out_inside_src(tmp_path):
    import io

    from PIL import Image

    from kiosk.problems import InvalidInput

    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 30, 30)).save(buffer, "JPEG")
    (src / "images" / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    (src / "programme.yaml").write_text("slides:\n  - id: cut\n    file: images/cut.jpg\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        publish.publish(src, tmp_path / "out", None)
    assert "damaged or truncated" in str(info.value)
    with pytest.raises(InvalidInput) as info:
        publish.publish(src, src / "www", None)
    assert "outside the authoring folder" in str(info.value)


def test_republishing_reads_no_unchanged_picture_and_gives_the_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    monkeypatch.setattr(mediamod, "RACY_SECONDS", -1.0)  # as if the pictures were copied in a while ago
    images = {f"images/{i}.png": (i * 40, 90, 200 - i * 30) for i in range(5)}
    slides = "".join(f"  - id: anh-{i}\n    file: images/{i}.png\n" for i in range(5))
    src = authoring(tmp_path / "src", slides, {name: colour for name, colour in images.items()})
    publish.publish(src, tmp_path / "out", None)
    first = tree(tmp_path / "out")

    read = []
    monkeypatch.setattr(mediamod, "sha256_file", lambda path: read.append(path) or "0" * 64)
    monkeypatch.setattr(mediamod, "check_decodes", lambda path: read.append(path))
    monkeypatch.setattr(mediamod, "probe", lambda path: read.append(path))
    assert "unchanged" in publish.publish(src, tmp_path / "out", None)
    assert read == [] and tree(tmp_path / "out") == first  # nothing read again, not a byte changed
    monkeypatch.undo()
    monkeypatch.setattr(mediamod, "RACY_SECONDS", -1.0)

    # An edit that keeps the size and puts the modification time back is still seen (its ctime moved).
    edited = src / "images" / "2.png"
    stat = edited.stat()
    Image.new("RGB", (32, 24), (1, 2, 3)).save(edited)
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    publish.publish(src, tmp_path / "out", None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))  # no memo at all: the same result
    publish.publish(src, tmp_path / "fresh", None)
    assert manifest.content_of((tmp_path / "out" / "manifest.json").read_bytes()) == \
        manifest.content_of((tmp_path / "fresh" / "manifest.json").read_bytes())
    sha = json.loads((tmp_path / "out" / "manifest.json").read_bytes())["media"]["images/2.png"]["sha256"]
    assert sha == mediamod.sha256_file(edited)


def test_a_picture_changed_a_moment_ago_is_not_remembered_and_a_broken_memo_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    src = authoring(tmp_path / "src", SLIDES, {"images/le-hoi.png": "red"})  # written just now
    publish.publish(src, tmp_path / "out", None)
    memos = tmp_path / "cache-home" / "kiosk" / "publish"
    assert not memos.exists()  # nothing remembered: a second edit in the same tick could keep its times
    memos.mkdir(parents=True)
    (memos / f"{publish._memo_path(src).name}").write_text("{not json")
    assert "unchanged" in publish.publish(src, tmp_path / "out", None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no" / "such" / "file-as-dir"))
    (tmp_path / "no" / "such").mkdir(parents=True)
    (tmp_path / "no" / "such" / "file-as-dir").write_text("")  # a cache that cannot be written: just slower
    assert "unchanged" in publish.publish(src, tmp_path / "out", None)
