"""YAML with line numbers, and YAML 1.1's traps closed once for every file kiosk reads."""

from pathlib import Path

import pytest
import yaml

from kiosk import yamlfile

ROOT = Path(__file__).resolve().parent.parent


def test_times_stay_text_and_on_off_keys_stay_keys():
    data = yamlfile.loads('hours: 22:00-05:00\nat: 22:00\nlong: 1:30:00\non: 06:00\noff: "22:00"\n', "x.yaml")
    assert data == {"hours": "22:00-05:00", "at": "22:00", "long": "1:30:00", "on": "06:00", "off": "22:00"}


def test_booleans_and_numbers_as_values_are_unchanged():
    data = yamlfile.loads("a: yes\nb: off\nc: true\nd: 15\ne: 0.5\nf: -3\ng: 1_000\nh: 0x10\n", "x.yaml")
    assert data == {"a": True, "b": False, "c": True, "d": 15, "e": 0.5, "f": -3, "g": 1000, "h": 16}


def test_every_key_and_item_knows_its_line():
    data = yamlfile.loads("slides:\n  - id: a\n    title: A\n  - id: b\n", "x.yaml")
    assert data.line_of("slides") == 1
    assert data["slides"].line_of(1) == 4 and data["slides"][0].line_of("title") == 3


def alias_bomb(levels: int = 9) -> str:
    """'Billion laughs': nine aliases of nine aliases, `levels` deep (9**9 strings written out)."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_with_its_line_before_it_is_built():
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(yamlfile.YamlError) as caught:
            yamlfile.loads(alias_bomb() + "device: {id: x, size: *i}\n", "bomb.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "alias bomb" in str(caught.value) and caught.value.problem.line is not None
    assert peak < 20 * 1024 * 1024


def test_ordinary_anchors_and_merge_keys_still_work():
    data = yamlfile.loads("base: &base {duration: 15, days: [mon, tue]}\nslides:\n"
                          "  - {<<: *base, id: a}\n  - {<<: *base, id: b, duration: 5}\n", "x.yaml")
    assert [dict(s) for s in data["slides"]] == [{"duration": 15, "days": ["mon", "tue"], "id": "a"},
                                                {"duration": 5, "days": ["mon", "tue"], "id": "b"}]


def test_an_alias_inside_itself_is_refused():
    with pytest.raises(yamlfile.YamlError, match="loop"):
        yamlfile.loads("a: &a [1, *a]\n", "x.yaml")


def test_a_nul_byte_is_named_with_its_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"device:\n  id: x\n  name: ab\x00c\n")
    with pytest.raises(yamlfile.YamlError) as caught:
        yamlfile.load(path)
    assert str(caught.value) == f"{path}:3: contains U+0000, which YAML does not allow: remove it"


def test_a_huge_file_is_refused_without_reading_it_whole(tmp_path):
    path = tmp_path / "programme.yaml"
    with open(path, "wb") as f:
        f.truncate(yamlfile.MAX_BYTES + 10)  # sparse: 4 MiB of NULs that are never all read
    with pytest.raises(yamlfile.YamlError, match="larger than 4 MiB"):
        yamlfile.load(path)


def test_values_in_messages_are_cut_short():
    from kiosk.problems import shown

    data = yamlfile.loads(alias_bomb(5), "x.yaml")  # 9**5 strings written out: within the bound
    assert len(shown(data["e"])) < 200 and len(shown("ư" * 10_000)) < 100


def lines(value) -> object:
    """A parsed document with the line of every key and item, to compare two parsers on."""
    if isinstance(value, yamlfile.LineDict):
        return {"line": value.line, "items": {k: (value.line_of(k), lines(v)) for k, v in value.items()}}
    if isinstance(value, yamlfile.LineList):
        return {"line": value.line, "items": [(value.line_of(i), lines(v)) for i, v in enumerate(value)]}
    return value


@pytest.mark.skipif(yamlfile._FastLoader is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("name", ["config.yaml", "demo/programme.yaml", "traps"])
def test_libyaml_and_the_python_parser_give_the_same_document(name):
    text = ('hours: 22:00-05:00\nat: 22:00\non: 06:00\noff: "22:00"\nyes: no\nd: 2026-02-30\nt: 2026-12-01T08:00\n'
            'n: [1_000, 0x10, 1:30, .5, -3]\nmerged: {<<: {a: 1}, b: 2}\n') if name == "traps" \
        else (ROOT / name).read_text(encoding="utf-8")
    fast = yaml.load(text, Loader=yamlfile._FastLoader)  # noqa: S506
    slow = yaml.load(text, Loader=yamlfile._Loader)  # noqa: S506
    assert lines(fast) == lines(slow)


def test_a_broken_document_is_described_by_the_same_words_with_or_without_libyaml():
    try:
        yamlfile.loads("slides:\n  - id: a\n    title: [unclosed\n", "programme.yaml")
    except yamlfile.YamlError as exc:
        problem = exc.problem
    assert problem.line == 3  # where the [ is, not where PyYAML gave up
    assert problem.message == "YAML syntax: the [ opened on this line is never closed: end it with ]"
    with pytest.raises(yaml.MarkedYAMLError):  # libyaml refuses it too: the words above are the Python parser's
        yaml.load("slides:\n  - id: a\n    title: [unclosed\n", Loader=yamlfile._FastLoader)  # noqa: S506
