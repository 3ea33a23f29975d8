"""Render figures: crossfade frame time and auto-fit of a long notice (prints, asserts nothing).

    SDL_VIDEODRIVER=dummy python bench/bench_render.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pygame  # noqa: E402

from kiosk.content.programme import Slide  # noqa: E402
from kiosk.screen.display import Screen  # noqa: E402
from kiosk.screen.slide import Renderer  # noqa: E402

PARAGRAPH = ("Thực hiện Kế hoạch của Ủy ban nhân dân huyện về việc tổng vệ sinh môi trường, phòng chống dịch "
             "bệnh mùa mưa bão, Ủy ban nhân dân xã đề nghị các hộ gia đình, cá nhân trên địa bàn thu gom rác thải, "
             "khơi thông cống rãnh, phát quang bụi rậm quanh nhà. ")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    size = (1920, 1080)
    cfg = SimpleNamespace(font="auto", fit="fit")
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        renderer = Renderer(size, cfg, Path(cache), device_name="UBND xã An Khương")
        print(f"Renderer() with font lookup and Vietnamese check: {(time.perf_counter() - t0) * 1000:.1f} ms")
        t0 = time.perf_counter()
        renderer.pages(Slide(id="a", type="text", title="Lịch tiếp công dân", body="Sáng thứ Năm hằng tuần."))
        print(f"first text frame: {(time.perf_counter() - t0) * 1000:.1f} ms")
        body = (PARAGRAPH * 20)[:3000]
        notice = Slide(id="dai", type="text", title="Thông báo về việc tổng vệ sinh môi trường", body=body)
        for screen_size, chars in ((size, 3000), ((3840, 2160), 3000), (size, 400)):
            case = Slide(id="x", type="text", title=notice.title, body=body[:chars])
            runs = []
            for _ in range(15):
                fresh = Renderer(screen_size, cfg, Path(cache))  # cold caches: every size measured anew
                t0 = time.perf_counter()
                layout = fresh.layout(case)
                runs.append((time.perf_counter() - t0) * 1000)
            print(f"auto-fit of a {chars}-character notice at {screen_size[0]}x{screen_size[1]}: "
                  f"median {statistics.median(runs):.1f} ms, max {max(runs):.1f} ms "
                  f"({len(layout.pages)} page(s) at {layout.size} px)")
        t0 = time.perf_counter()
        frames = renderer.pages(notice)
        print(f"drawing the 3000-character notice's {len(frames)} pages at 1920x1080: "
              f"{(time.perf_counter() - t0) * 1000:.1f} ms")

        screen = Screen.open(size, 0)
        a = renderer.pages(Slide(id="a", type="text", title="Lịch tiếp công dân", body="Sáng thứ Năm hằng tuần."))[0]
        b = renderer.pages(notice)[0]
        times: list[float] = []
        screen.show(b)
        for i in range(10):
            times += screen.crossfade(b if i % 2 else a, 600)
        shows = []
        for i in range(20):
            t0 = time.perf_counter()
            screen.show(a if i % 2 else b)
            shows.append((time.perf_counter() - t0) * 1000)
        print(f"show() of a ready frame (texture upload + draw + present): p50 {percentile(shows, 50):.2f} ms, "
              f"p99 {percentile(shows, 99):.2f} ms")
        print(f"crossfade frame at {size[0]}x{size[1]} (driver {pygame.display.get_driver()}, "
              f"{screen.renderer_name} renderer): "
              f"p50 {percentile(times, 50):.2f} ms, p95 {percentile(times, 95):.2f} ms, "
              f"max {max(times):.2f} ms over {len(times)} frames")
        screen.close()


if __name__ == "__main__":
    main()
