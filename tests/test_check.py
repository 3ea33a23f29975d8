"""`kiosk check-config` checks everything the board will read: config.yaml and the authoring folder."""

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
ENV = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
       "LANG": "C.UTF-8"}


def kiosk(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=ENV)


def folder(tmp_path: Path, programme: str) -> Path:
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    Image.new("RGB", (64, 48), "red").save(src / "images" / "ok.jpg")
    damaged = (src / "images" / "ok.jpg").read_bytes()
    (src / "images" / "damaged.jpg").write_bytes(damaged[: len(damaged) // 2])
    (src / "programme.yaml").write_text(programme, encoding="utf-8")
    (tmp_path / "config.yaml").write_text("device: {id: t, name: X}\nsource: {path: src}\ncache: {path: cache}\n",
                                          encoding="utf-8")
    return src


BROKEN = """\
banner: not yet
slides:
  - id: chao
    title: Xin chào
    duraton: 10
  - id: anh
    file: images/missing.jpg
  - id: hong
    file: images/damaged.jpg
  - id: tot
    file: images/ok.jpg
"""


def test_the_authoring_folder_is_checked_with_errors_and_warnings_apart(tmp_path):
    src = folder(tmp_path, BROKEN)
    done = kiosk("check-config", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    yaml = f"{src.resolve()}/programme.yaml"
    assert done.stderr.splitlines() == [
        f"{yaml}:1: banner: unknown key; programme.yaml has slides, ticker",
        f"{yaml}:5: slides[0] (chao).duraton: unknown key; did you mean 'duration'?",
        f"{yaml}:7: slides[1] (anh).file: file 'images/missing.jpg' not found in '{src.resolve()}'",
        f"{yaml}:9: slides[2] (hong).file: images/damaged.jpg: not a readable image (Truncated File Read)",
        f"{yaml}: 3 of 4 slides will not play: chao, anh, hong",
        "4 errors, 0 warnings",
    ]
    assert done.stdout.startswith("config.yaml: OK")


def test_a_good_folder_is_ok_and_a_warning_alone_exits_0(tmp_path):
    folder(tmp_path, "slides:\n  - id: tot\n    file: images/ok.jpg\n")
    done = kiosk("check-config", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.splitlines()[1].endswith("programme.yaml: OK (1 slide)")
    body = "Thông báo lịch tiêm chủng mở rộng cho trẻ em dưới 5 tuổi tại trạm y tế xã. " * 40  # 3,000 characters
    folder(tmp_path / "w", f"slides:\n  - id: tot\n    file: images/ok.jpg\n  - id: dai\n    body: {body}\n")
    warned = kiosk("check-config", cwd=tmp_path / "w")
    assert warned.returncode == 0, warned.stderr
    assert warned.stderr.splitlines()[0].endswith(
        "programme.yaml:5: slides (dai).body: warning: about 5 pages of text share its 10 s (2.0 s a page): too "
        "fast to read; give it duration: 20 or more, or split the text into several slides")


def check_and_publish(tmp_path: Path, programme: str) -> tuple[subprocess.CompletedProcess, ...]:
    src = folder(tmp_path, programme)
    return kiosk("check-config", cwd=tmp_path), kiosk("publish", str(src), str(tmp_path / "out"), cwd=tmp_path)


@pytest.mark.parametrize("top", [
    "ticker: {a: 1}\n",  # a ticker that is not text
    "ticker: [" + ", ".join(["tin"] * 60) + "]\n",  # too many items
    "tickr: Lịch cắt điện\n",  # a key no board reads: the ticker meant is lost
])
def test_what_publish_refuses_check_config_calls_an_error(tmp_path, top):
    checked, published = check_and_publish(tmp_path, top + "slides:\n  - id: tot\n    file: images/ok.jpg\n")
    assert published.returncode == 2 and checked.returncode == 2, checked.stderr
    line = published.stderr.splitlines()[0]
    assert ":1: tick" in line and "warning" not in line and line in checked.stderr.splitlines()
    assert checked.stderr.splitlines()[-1] == "1 error, 0 warnings"


def test_what_check_config_warns_of_publish_publishes_and_says(tmp_path):
    body = "Lịch tiếp công dân của Chủ tịch UBND xã vào sáng thứ Năm hằng tuần. " * 50
    checked, published = check_and_publish(tmp_path, f"slides:\n  - id: dai\n    duration: 8\n    body: {body}\n")
    assert checked.returncode == 0 and published.returncode == 0, published.stderr
    warning = next(line for line in checked.stderr.splitlines() if "warning:" in line)
    assert "slides (dai).body: warning: about 6 pages" in warning and warning in published.stderr.splitlines()
    assert (tmp_path / "out" / "manifest.v2.json").is_file()


def test_an_unreadable_programme_is_an_error(tmp_path):
    folder(tmp_path, "slides:\n  - id: a\n   title: b\n")
    done = kiosk("check-config", cwd=tmp_path)
    assert done.returncode == 2 and "programme.yaml:3:" in done.stderr and "nothing will play" in done.stderr
    assert "Traceback" not in done.stderr


def test_render_says_will_not_play_for_the_same_problems(tmp_path):
    folder(tmp_path, BROKEN)
    done = kiosk("render", "--out", str(tmp_path / "out"), "--size", "320x180", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 of 4 slides will not play: chao, anh, hong" in done.stderr
    assert "skipped" not in done.stderr and [Path(p).name for p in done.stdout.split()] == ["01-tot.png"]
