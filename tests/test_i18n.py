"""Vietnamese everywhere a person reads: every marked message has its translation, placeholders intact,
the shipped .mo is the compiled .po, and the board speaks the language of ui.language or of the locale."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import i18n

babel = pytest.importorskip("babel", reason="Babel is in the test extras (pip install 'kiosk[test]')")
from babel.messages.pofile import read_po  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "kiosk" / "locale" / "vi" / "LC_MESSAGES" / "kiosk.po"
FIELD = re.compile(r"\{(\w*)[^{}]*\}")


def tools():
    spec = importlib.util.spec_from_file_location("locale_update", ROOT / "kiosk" / "locale" / "update.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def catalog():
    with open(PO, "rb") as f:
        return read_po(f, locale="vi")


def test_every_message_in_the_code_has_its_vietnamese():
    marked = {m.id for m in tools().extract() if m.id}
    assert len(marked) > 200  # check-config, render, publish, status, /healthz, sync and reports, YAML
    translated = {m.id: m.string for m in catalog() if m.id}
    missing = sorted(str(m) for m in marked if not (all(translated.get(m) or ())
                                                    if isinstance(m, tuple) else translated.get(m)))
    assert not missing, "no Vietnamese yet (python kiosk/locale/update.py, then translate kiosk.po):\n" + \
        "\n".join(missing)


def test_translations_keep_every_placeholder():
    for message in catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(FIELD.findall(ids[-1]))
        for string in strings:
            assert set(FIELD.findall(string)) == wanted, (message.id, string)


def test_the_shipped_mo_is_the_compiled_po():
    mo = PO.with_suffix(".mo")
    assert mo.read_bytes() == tools().compiled(catalog()), "run python kiosk/locale/update.py"


def test_the_language_comes_from_ui_language_then_the_locale(monkeypatch):
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    try:
        assert i18n.use(None) == "en" and i18n._("unknown key") == "unknown key"
        monkeypatch.setenv("LANG", "vi_VN.UTF-8")
        assert i18n.use(None) == "vi" and i18n._("unknown key") == "khóa không hợp lệ"
        assert i18n.use("en") == "en" and i18n._("unknown key") == "unknown key"
    finally:
        i18n.use("en")


def run(args, cwd, **env):
    return subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **env})


def test_a_board_set_to_vi_tells_its_technician_in_vietnamese(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "programme.yaml").write_text(
        "slides:\n  - id: chao\n    title: Xin chào\n    duraton: 10\n  - id: tam-biet\n    title: Tạm biệt\n",
        encoding="utf-8")
    (tmp_path / "config.yaml").write_text("device: {id: t, name: X}\nsource: {path: src}\nui: {language: vi}\n",
                                          encoding="utf-8")
    done = run(["check-config"], tmp_path)
    yaml = f"{(tmp_path / 'src').resolve()}/programme.yaml"
    assert done.returncode == 2
    assert done.stdout == "config.yaml: HỢP LỆ (bảng tin t, X)\n"
    assert done.stderr.splitlines() == [
        f"{yaml}:4: slides[0] (chao).duraton: khóa không hợp lệ; có phải ý bạn là 'duration'?",
        f"{yaml}: 1 trong 2 bản tin sẽ không được phát: chao",
        "1 lỗi, 0 cảnh báo",
    ]


def test_an_invalid_config_is_told_in_its_own_language_and_the_locale_decides_without_one(tmp_path):
    (tmp_path / "config.yaml").write_text("device: {id: BAD, name: X}\nsource: {path: .}\nui: {language: vi}\n",
                                          encoding="utf-8")
    done = run(["check-config"], tmp_path)
    assert done.returncode == 2 and "chỉ được dùng a-z, 0-9 và '-'" in done.stderr
    (tmp_path / "config.yaml").write_text("device:\n  id: a\n name: X\n", encoding="utf-8")
    assert "lỗi cú pháp YAML" in run(["check-config"], tmp_path, LANG="vi_VN.UTF-8").stderr
    assert "YAML syntax" in run(["check-config"], tmp_path, LANG="C.UTF-8").stderr


WRAPPERS = ("lỗi cú pháp YAML: ", "cấu hình: ", "báo cáo: ")  # a message said inside another one


def test_the_troubleshooting_table_is_keyed_by_messages_the_board_prints():
    """docs/vi/xu-ly-su-co.md: the first column of every table is a Vietnamese message of the catalog
    (… where the board puts a file, a line or a value), so a technician finds what the screen says."""
    said = []
    for message in catalog():
        for string in (message.string if isinstance(message.string, tuple) else (message.string,)):
            if message.id and string:
                said.append(FIELD.sub("…", string))
    table = (ROOT / "docs" / "vi" / "xu-ly-su-co.md").read_text(encoding="utf-8")
    keys = re.findall(r"^\| `([^`]+)`", table, re.M)
    assert len(keys) > 40
    for key in keys:
        candidates = [key] + [key[len(w):] for w in WRAPPERS if key.startswith(w)]
        patterns = [re.compile(".*".join(re.escape(part) for part in c.split("…")), re.S) for c in candidates]
        assert any(p.fullmatch(s) for p in patterns for s in said), f"not a message the board prints: {key}"
