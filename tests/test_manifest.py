import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from kiosk.content import manifest, programme
from kiosk.problems import InvalidInput
from kiosk.source import publish

SHA = "a" * 64


def doc(**changes) -> dict:
    base = {
        "format": 1, "version": "v1", "generated_at": "2026-12-01T00:00:00Z",
        "media": {"images/le-hoi.jpg": {"sha256": SHA, "size": 10}},
        "slides": [
            {"id": "tin", "type": "text", "title": "Thông báo", "body": "Họp dân", "priority": "emergency",
             "valid_from": "2026-12-01T07:00", "days": ["mon"], "hours": "22:00-05:00"},
            {"id": "anh", "type": "image", "file": "images/le-hoi.jpg", "duration": 5},
        ],
    }
    base.update(changes)
    return base


def raw(document) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def test_a_manifest_becomes_the_same_slides_as_programme_yaml(tmp_path):
    prog = manifest.decode(raw(doc()), tmp_path)
    text, image = prog.slides
    assert text.title == "Thông báo" and text.priority == "emergency"
    assert text.window.days == frozenset({0}) and text.window.valid_from.hour == 7
    assert image.image == programme.MediaRef(SHA, 10, tmp_path / SHA, "images/le-hoi.jpg")
    assert manifest.media_of(prog) == {SHA: 10}


def test_publish_then_decode_gives_the_folders_own_programme(tmp_path):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    Image.new("RGB", (40, 30), "red").save(src / "images" / "a.png")
    (src / "programme.yaml").write_text(
        "slides:\n"
        "  - {id: a, title: Lịch, valid_from: 2026-12-01, valid_until: 2026-12-31 18:00, days: [sat]}\n"
        "  - {id: b, file: images/a.png, fit: fill, speak: false}\n", encoding="utf-8")
    publish.publish(src, tmp_path / "out", None)
    from_folder = programme.load_folder(src)
    from_manifest = manifest.decode((tmp_path / "out" / "manifest.json").read_bytes(), tmp_path / "cache")
    assert from_manifest.version == from_folder.version
    assert [s.window for s in from_manifest.slides] == [s.window for s in from_folder.slides]


@pytest.mark.parametrize("data, expected", [
    (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML"),
    (raw(doc())[:-40], "not valid JSON"),
    (b"", "empty"),
    (b"[1, 2]", "must be a JSON object"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    (raw(doc(format=3)), "format: must be 1 and 2"),
    (raw(doc(format="1")), "format: must be 1 and 2"),
    (raw(doc(slides={"id": "x"})), "slides: must be a list"),
    (raw(doc(media=[])), "media: must be an object"),
    (raw(doc(media={"../../etc/passwd": {"sha256": SHA, "size": 10}})), "without '..'"),
    (raw(doc(media={"/etc/passwd": {"sha256": SHA, "size": 10}})), "relative path"),
    (raw(doc(media={"images/le-hoi.jpg": {"sha256": "../" + SHA[:61], "size": 10}})), "64 lowercase hex"),
    (raw(doc(media={"images/le-hoi.jpg": {"sha256": SHA, "size": "10"}})), "whole number of bytes"),
    (raw(doc(media={"images/le-hoi.jpg": {"sha256": SHA, "size": -1}})), "whole number of bytes"),
    (raw(doc(version=None)), "version: must be"),
    (raw(doc(extra=1)), "extra: unknown key"),
    (raw(doc(slides=[{"id": "x", "title": "t", "duration": "15"}])), "slides[0] (x).duration"),
    (raw(doc(slides=[{"id": "x", "title": ["t"]}])), "slides[0] (x).title: expected text"),
    (raw(doc(slides=[{"id": "x", "file": "../secret.jpg"}])), "without '..'"),
    (raw(doc(slides=[{"id": "x", "file": "images/other.jpg"}])), "not in the media table"),
    (raw(doc(slides=[{"id": "x", "title": "t", "speak": "yes"}])), "speak: must be true or false"),
    (b'{"format": 1, "version": "v", "slides": [], "x": NaN}', "NaN is not allowed"),
])
def test_hostile_manifests_are_refused_whole_with_the_reason(tmp_path, data, expected):
    with pytest.raises(InvalidInput) as caught:
        manifest.decode(data, tmp_path)
    assert expected in str(caught.value)
    assert str(caught.value).startswith("manifest.json")


def test_an_oversized_manifest_is_refused_before_parsing(tmp_path):
    with pytest.raises(InvalidInput, match="more than the limit"):
        manifest.decode(b" " * (manifest.MAX_BYTES + 1), tmp_path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(slides=st.lists(st.dictionaries(
    st.sampled_from(["id", "type", "title", "body", "file", "duration", "priority", "speak", "fit", "valid_from",
                     "valid_until", "days", "hours", "junk"]), json_values, max_size=8), max_size=3),
       media=json_values, fmt=st.sampled_from([1, 2]))
def test_any_json_either_decodes_or_is_refused_with_problems(slides, media, fmt):
    data = raw({"format": fmt, "version": "v", "media": media, "slides": slides})
    try:
        prog = manifest.decode(data, Path("/cache/media"))
    except InvalidInput as exc:
        assert exc.problems
    else:
        assert all(s.image is None or s.image.path.parent == Path("/cache/media") for s in prog.slides)
        assert prog.format == fmt and (fmt == 2 or not prog.warnings)
        assert len(prog.slides) + sum("slide skipped" in w.message for w in prog.warnings) == len(slides)


def test_encoding_is_canonical():
    a = manifest.encode("v", {"b": (SHA, 1), "a": (SHA, 1)}, [{"title": "Ủy ban", "id": "x"}], "t")
    b = manifest.encode("v", {"a": (SHA, 1), "b": (SHA, 1)}, [{"id": "x", "title": "Ủy ban"}], "t")
    assert a == b and "Ủy ban".encode() in a


SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "manifest.schema.json"


def test_the_published_json_schema_accepts_what_publish_writes_and_rejects_what_boards_refuse(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    Image.new("RGB", (40, 30), "red").save(src / "images" / "a.png")
    (src / "programme.yaml").write_text(
        "slides:\n"
        "  - {id: a, title: Lịch, valid_from: 2026-12-01, valid_until: 2026-12-31 18:00, days: [sat],"
        " hours: '22:00-05:00', priority: emergency, speak: true, duration: 7.5}\n"
        "  - {id: b, file: images/a.png, fit: fill}\n", encoding="utf-8")
    publish.publish(src, tmp_path / "out", None)
    validator.validate(json.loads((tmp_path / "out" / "manifest.json").read_bytes()))
    validator.validate(json.loads((tmp_path / "out" / "manifest.v2.json").read_bytes()))
    validator.validate(doc())
    validator.validate(doc(format=2))
    validator.validate(doc(format=2, ticker={"text": "x"}))  # format 2: a newer top-level key is ignored
    for bad in (doc(format=3), doc(slides={"id": 1}), doc(media={"../x": {"sha256": SHA, "size": 1}}),
                doc(media={"a": {"sha256": "../" + SHA[3:], "size": 1}}), doc(extra=1),
                doc(slides=[{"id": "x", "duration": "15"}, {"id": "y", "title": "t"}]), doc(slides=[{"id": "X"}]),
                doc(format=2, media={"a": {"sha256": SHA, "size": -1}}), doc(format=2, slides=[{"id": "X"}])):
        assert not validator.is_valid(bad), bad
        with pytest.raises(InvalidInput):
            manifest.decode(raw(bad), tmp_path)
    # Format 2 where the schema and a board differ on purpose: a slide the board does not know is skipped.
    newer = doc(format=2, slides=[{"id": "x", "title": "t"}, {"id": "y", "type": "video", "file": "v.mp4"}])
    assert not validator.is_valid(newer)
    assert [s.id for s in manifest.decode(raw(newer), tmp_path).slides] == ["x"]
    assert not validator.is_valid(doc(slides=[{"id": "x", "title": "t", "link": "https://x.vn"}]))  # format 1


@pytest.mark.parametrize("text", ["2026-12-31", "2026-12-31 23:59", "2026-12-31T23:59", "2026-12-31T23:59:00",
                                  "2026-12-31 23:59:30.5", "'2026-12-31'"])
@pytest.mark.parametrize("key", ["valid_from", "valid_until"])
def test_a_date_means_the_same_in_programme_yaml_and_in_the_manifest(tmp_path, key, text):
    src = tmp_path / "src"
    src.mkdir()
    (src / "programme.yaml").write_text(f"slides:\n  - id: a\n    title: x\n    {key}: {text}\n", encoding="utf-8")
    publish.publish(src, tmp_path / "out", None)
    from_manifest = manifest.decode((tmp_path / "out" / "manifest.json").read_bytes(), tmp_path)
    from_folder = programme.load_folder(src)
    assert from_manifest.slides[0].window == from_folder.slides[0].window
    assert from_manifest.version == from_folder.version


@pytest.mark.parametrize("field, change", [
    ("id", lambda d: d["slides"][0].update(id="tin\n")),
    ("sha256", lambda d: d["media"]["images/le-hoi.jpg"].update(sha256=SHA + "\n")),
    ("version", lambda d: d.update(version="v1\n")),
])
def test_a_final_newline_does_not_sneak_into_a_name(tmp_path, field, change):
    document = doc()
    change(document)
    with pytest.raises(InvalidInput) as caught:
        manifest.decode(raw(document), tmp_path)
    assert field in str(caught.value)
