"""YAML with line numbers, and YAML 1.1's traps closed once for every file kiosk reads."""

from kiosk import yamlfile


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
