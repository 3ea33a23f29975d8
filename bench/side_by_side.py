"""kiosk, Chromium in kiosk mode and feh side by side: the same 10 slides, 10 s each, 1920x1080, under Xvfb.

    python bench/side_by_side.py [--rounds 3] [--seconds 60] [--before ROOT]

Needs Debian's xvfb, chromium and feh. The slides are 10 Vietnamese text notices; kiosk plays them from
an authoring folder (drawing them itself, 600 ms crossfades), Chromium shows the same slides as PNG files
(the pixels `kiosk render` makes) in a page that crossfades them with CSS every 10 s, and feh shows the
PNG files as a slideshow with hard cuts. Each program runs alone in a fresh Xvfb (no GPU, like this
machine), one after the other in every round. For each: spawn to the first slide on the X screen (read
off the screen), CPU of the program's whole process tree over `--seconds` (and of the X server
separately: it copies what the programs send), memory of the process tree at the end (RSS, PSS: pages
shared among a browser's processes counted once, and peak RSS). `--before ROOT` adds another kiosk tree
(e.g. a checkout of the previous main) as a fourth program.

As root, Chromium runs with --no-sandbox and, so that it never tries the (closed) network, with
--disable-background-networking --disable-component-update --disable-sync --no-first-run and a new
--user-data-dir; --disable-gpu as there is none.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import xlab

ROOT = Path(__file__).resolve().parent.parent
SLIDES = 10
NOTICES = [
    ("Lịch tiếp công dân", "Chủ tịch UBND xã tiếp công dân vào sáng thứ Năm hằng tuần tại phòng tiếp dân."),
    ("Tiêm chủng mở rộng", "Trạm y tế xã tổ chức tiêm vắc-xin cho trẻ dưới 5 tuổi vào ngày 15 hằng tháng."),
    ("Phòng chống bão lũ", "Bà con chủ động gia cố nhà cửa, chuẩn bị lương thực, nước uống và đèn pin."),
    ("Thu gom rác thải", "Xe thu gom rác đi qua các thôn vào 6 giờ sáng thứ Hai, thứ Tư và thứ Sáu."),
    ("Cấp căn cước công dân", "Công an xã làm thủ tục cấp căn cước công dân cả sáng thứ Bảy trong tháng này."),
    ("Hội nghị nhân dân", "Mời đại diện các hộ gia đình dự hội nghị lấy ý kiến về quy hoạch đường liên thôn."),
    ("Khuyến nông", "Lớp tập huấn kỹ thuật trồng lúa hữu cơ mở tại nhà văn hóa thôn Đông vào thứ Ba."),
    ("An toàn giao thông", "Không uống rượu bia khi lái xe; đội mũ bảo hiểm đúng cách khi đi xe máy."),
    ("Bảo hiểm y tế", "Hộ gia đình đóng bảo hiểm y tế năm 2027 tại bưu điện xã trước ngày 31 tháng 12."),
    ("Ngày hội đại đoàn kết", "Ngày hội đại đoàn kết toàn dân tộc tổ chức tại sân vận động xã ngày 18 tháng 11."),
]
PROBES = [(40, 4), (960, 540), (100, 700), (1800, 300), (960, 1060)]  # red stripe, background, footer


def authoring(folder: Path) -> Path:
    folder.mkdir(parents=True)
    lines = ["slides:"]
    for n, (title, body) in enumerate(NOTICES[:SLIDES]):
        lines += [f"  - id: thong-bao-{n}", f"    title: {title}", f"    body: {body}", "    duration: 10"]
    (folder / "programme.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def config(root: Path, folder: Path, name: str) -> Path:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = root / f"{name}.yaml"
    path.write_text(f"device: {{id: so-sanh, name: UBND xã Thử}}\nsource: {{path: {folder}}}\n"
                    f"display: {{size: 1920x1080, crossfade_ms: 600}}\ncache: {{path: {root / ('cache-' + name)}}}\n"
                    f"health: {{listen: '127.0.0.1:{port}'}}\n", encoding="utf-8")
    return path


def render_pngs(root: Path, cfg: Path) -> list[Path]:
    out = root / "png"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy"}
    subprocess.run([sys.executable, "-m", "kiosk", "render", "-c", str(cfg), "--out", str(out),
                    "--at", "2026-12-01T08:00"], env=env, check=True, capture_output=True)
    return sorted(out.glob("[0-9][0-9]-*.png"))


def page(root: Path, pngs: list[Path]) -> Path:
    images = "\n".join(f'<img src="{p.as_uri()}" class="{"on" if i == 0 else ""}">' for i, p in enumerate(pngs))
    html = f"""<!doctype html><html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; background: #000; overflow: hidden; cursor: none; }}
img {{ position: fixed; left: 0; top: 0; width: 1920px; height: 1080px; opacity: 0; transition: opacity 600ms linear; }}
img.on {{ opacity: 1; }}
</style></head><body>{images}<script>
const slides = document.querySelectorAll("img"); let n = 0;
setInterval(() => {{ slides[n].classList.remove("on"); n = (n + 1) % slides.length; slides[n].classList.add("on"); }},
            10000);
</script></body></html>"""
    path = root / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


def expected(png: Path) -> list[tuple[int, int, int]]:
    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB")
        return [rgb.getpixel(xy) for xy in PROBES]


def shows(screen: xlab.Screen, want: list[tuple[int, int, int]]) -> bool:
    return all(max(abs(a - b) for a, b in zip(screen.pixel(*xy), colour, strict=True)) <= 6
               for xy, colour in zip(PROBES, want, strict=True))


def measure(name: str, command: list[str], env: dict, want, seconds: float, cwd: Path) -> dict:
    with xlab.xvfb() as display:
        screen = xlab.Screen(display)
        server_pid = int(Path(f"/tmp/.X{display[1:]}-lock").read_text().strip())
        t0 = time.monotonic()
        # not from this checkout: `python -m kiosk` puts the cwd first on sys.path, before PYTHONPATH, so
        # started here "kiosk (before)" would run this tree
        proc = subprocess.Popen(command, env={**env, "DISPLAY": display}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, cwd=cwd)
        first = None
        try:
            while time.monotonic() - t0 < 60:
                if shows(screen, want):
                    first = time.monotonic() - t0
                    break
                time.sleep(0.01)
            time.sleep(5)  # settled: caches warm, the first crossfade behind
            pids = xlab.tree(proc.pid)
            before, x_before, start = xlab.cpu_seconds(pids), xlab.cpu_seconds([server_pid]), time.monotonic()
            time.sleep(seconds)
            pids = xlab.tree(proc.pid)
            wall = time.monotonic() - start
            cpu = (xlab.cpu_seconds(pids) - before) / wall
            x_cpu = (xlab.cpu_seconds([server_pid]) - x_before) / wall
            rss, pss, hwm = xlab.memory_mb(pids)
        finally:
            screen.close()
            os.killpg(proc.pid, 15)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
    return {"name": name, "first": first, "cpu": 100 * cpu, "x_cpu": 100 * x_cpu, "rss": rss, "pss": pss,
            "hwm": hwm, "processes": len(pids), "load": xlab.loadavg()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--before", type=Path, help="another kiosk tree to measure too (e.g. the previous main)")
    args = parser.parse_args()
    for tool in ("Xvfb", "chromium", "feh"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: apt-get install xvfb chromium feh")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = authoring(root / "noi-dung")
        pngs = render_pngs(root, config(root, folder, "render"))
        want = expected(pngs[0])
        base = {k: v for k, v in os.environ.items() if not k.startswith("SDL_")}
        programs = [("kiosk", [sys.executable, "-m", "kiosk", "run", "-c", str(config(root, folder, "kiosk"))],
                     {**base, "PYTHONPATH": str(ROOT)})]
        if args.before:
            programs.append(("kiosk (before)", [sys.executable, "-m", "kiosk", "run", "-c",
                                                str(config(root, folder, "before"))],
                             {**base, "PYTHONPATH": str(args.before.resolve())}))
        profile = root / "chromium-profile"
        programs.append(("Chromium --kiosk", [
            "chromium", "--kiosk", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--noerrdialogs", "--disable-infobars", "--window-position=0,0", "--window-size=1920,1080",
            page(root, pngs).as_uri()], base))
        programs.append(("feh", ["feh", "--fullscreen", "--hide-pointer", "--borderless", "--slideshow-delay", "10",
                                 *map(str, pngs)], base))
        results: dict[str, list[dict]] = {name: [] for name, _c, _e in programs}
        for n in range(args.rounds):
            for name, command, env in programs:
                shutil.rmtree(profile, ignore_errors=True)
                for cache in root.glob("cache-*"):
                    shutil.rmtree(cache)  # every start is a first start (kiosk prepares nothing here anyway)
                result = measure(name, command, env, want, args.seconds, root)
                results[name].append(result)
                print(json.dumps({"round": n + 1, **{k: round(v, 3) if isinstance(v, float) else v
                                                     for k, v in result.items()}}, ensure_ascii=False), flush=True)

    def span(name: str, key: str, fmt: str) -> str:
        values = [r[key] for r in results[name] if r[key] is not None]
        if not values:
            return "-"
        low, high = min(values), max(values)
        return format(low, fmt) if f"{low:{fmt}}" == f"{high:{fmt}}" else f"{low:{fmt}}–{high:{fmt}}"

    print(f"\n{args.rounds} rounds, {args.seconds:.0f} s each, min–max; load at the end {xlab.loadavg()}")
    print("| program | spawn to first slide (s) | CPU, % of a core | X server CPU, % | RSS (MB) | PSS (MB) "
          "| peak RSS (MB) | processes |")
    print("|---|---|---|---|---|---|---|---|")
    for name in results:
        print(f"| {name} | {span(name, 'first', '.2f')} | {span(name, 'cpu', '.2f')} | {span(name, 'x_cpu', '.1f')} "
              f"| {span(name, 'rss', '.0f')} | {span(name, 'pss', '.0f')} | {span(name, 'hwm', '.0f')} "
              f"| {span(name, 'processes', 'd')} |")

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name] if r[key] is not None)

    print("\nratios of medians (kiosk ÷ other):")
    print("| other | spawn to first slide | CPU | CPU with the X server's | RSS | PSS |")
    print("|---|---|---|---|---|---|")
    for other in results:
        if other != "kiosk":
            both = {name: median(name, "cpu") + median(name, "x_cpu") for name in ("kiosk", other)}
            with_x = both["kiosk"] / both[other]
            print(f"| {other} | {median('kiosk', 'first') / median(other, 'first'):.2f} | "
                  f"{median('kiosk', 'cpu') / median(other, 'cpu'):.2f} | {with_x:.2f} | "
                  f"{median('kiosk', 'rss') / median(other, 'rss'):.2f} | "
                  f"{median('kiosk', 'pss') / median(other, 'pss'):.2f} |")


if __name__ == "__main__":
    main()
