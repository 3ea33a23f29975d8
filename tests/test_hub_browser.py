"""Done when: a real `kiosk run` reports to a real `kiosk hub`, and a real browser (Debian's Chromium, driven
by Selenium through chromium-driver) signs in, sees the board, clicks "Chụp màn hình" and sees the screenshot
that the running board uploaded after the command came in its heartbeat answer."""

import io
import shutil
import signal
import tempfile
import time

import pytest
import requests
from hubs import HubProcess, free_port, run_cli, write_hub_yaml
from PIL import Image
from player_process import Player, write_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={tempfile.mkdtemp(prefix='kiosk-chromium-')}", "--window-size=1280,900"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def test_a_browser_asks_a_running_board_for_its_screen_and_sees_it(tmp_path):
    hub_port, board_port = free_port(), free_port()
    hub_yaml = write_hub_yaml(tmp_path, hub_port)
    added = run_cli("hub", "add-board", "test-board", "--name", "UBND xã Thử Nghiệm", "--commune", "Thử Nghiệm",
                    "-c", str(hub_yaml))
    assert added.returncode == 0, added.stderr
    (tmp_path / "token").write_text(added.stdout.splitlines()[-1] + "\n")
    assert run_cli("hub", "add-user", "lan", "--role", "operator", "-c", str(hub_yaml),
                   stdin="mat-khau-dai\n").returncode == 0
    src = tmp_path / "soan-thao"
    src.mkdir()
    (src / "programme.yaml").write_text(
        "slides:\n  - id: hop-dan\n    title: Họp dân thôn Phú Hòa\n    body: Tối thứ Sáu, 19 giờ.\n"
        "    duration: 1\n", encoding="utf-8")
    config = write_config(tmp_path, f"  path: {src}\n  report_url: http://127.0.0.1:{hub_port}/\n"
                          f"  token_file: {tmp_path / 'token'}", board_port, extra="  heartbeat_seconds: 5\n")
    hub = HubProcess(hub_yaml, hub_port)
    player = Player(config, board_port)
    driver = None
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: requests.get(hub.url + "metrics", timeout=5).text.count(
            'kiosk_hub_board_up{board="test-board"} 1.0'), 20)
        driver = browser()
        driver.implicitly_wait(5)
        from selenium.webdriver.common.by import By

        driver.get(hub.url)
        driver.find_element(By.NAME, "user").send_keys("lan")
        driver.find_element(By.NAME, "password").send_keys("mat-khau-dai")
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        row = driver.find_element(By.CSS_SELECTOR, 'tr[data-board="test-board"]')
        assert "UBND xã Thử Nghiệm" in row.text and "Thử Nghiệm" in row.text
        row.find_element(By.LINK_TEXT, "UBND xã Thử Nghiệm").click()
        driver.find_element(By.XPATH, "//button[text()='Chụp màn hình']")  # the board's page is there
        driver.implicitly_wait(0)  # looking for what is absent must not wait the implicit 5 s each time
        assert not driver.find_elements(By.ID, "screenshot")
        driver.implicitly_wait(5)
        driver.find_element(By.XPATH, "//button[text()='Chụp màn hình']").click()
        status = driver.find_element(By.CSS_SELECTOR, "table.commands-list").text  # queued, or already sent
        assert "Chụp màn hình" in status and any(w in status for w in ("Đang chờ bảng liên lạc", "Đã gửi", "Xong"))
        driver.implicitly_wait(0)
        deadline = time.monotonic() + 30  # the next heartbeat (5 s) brings the command; the page reloads itself
        while not driver.find_elements(By.ID, "screenshot") and time.monotonic() < deadline:
            time.sleep(0.2)
        driver.implicitly_wait(5)
        shot = driver.find_element(By.ID, "screenshot")
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", shot) == 640
        assert "Xong" in driver.find_element(By.CSS_SELECTOR, "table.commands-list").text
        cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
        image = requests.get(shot.get_attribute("src"), cookies=cookies, timeout=10)
        assert Image.open(io.BytesIO(image.content)).size == (640, 360)
        # and the proof of play arrived, deduplicated
        assert player.wait_until(lambda: "hop-dan" in requests.get(
            hub.url + "stats/plays.json", auth=("lan", "mat-khau-dai"),
            params={"from": "2000-01-01", "to": "2100-01-01"}, timeout=5).text, 20)
    finally:
        if driver is not None:
            driver.quit()
        code, out = player.stop(signal.SIGTERM)
        hub_code, hub_log = hub.stop()
    assert code == 0 and "Traceback" not in out, out
    assert hub_code == 0 and "Traceback" not in hub_log, hub_log
