"""Label studio in a real headless Chromium (Debian's chromium and chromium-driver, via Selenium).

The system driver and browser are given explicitly, so Selenium never looks for them online; the
tests are skipped when they are not installed, unless ``TEAMFORM_REQUIRE_BROWSER=1`` (CI) makes
that a failure. One browser and one server per module.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.data.custom import load_custom
from bench.studio.app import create_app
from bench.studio.server import StudioServer
from tests.studio_fixtures import PLANTED, TASKS, services, settings, studio_dataset

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

HAVE_BROWSER = bool(shutil.which("chromium") and shutil.which("chromedriver"))
if not HAVE_BROWSER and os.environ.get("TEAMFORM_REQUIRE_BROWSER") == "1":
    raise RuntimeError(
        "TEAMFORM_REQUIRE_BROWSER=1 but chromium / chromedriver are not on PATH: "
        "apt-get install chromium chromium-driver"
    )
pytestmark = pytest.mark.skipif(not HAVE_BROWSER, reason="needs Debian's chromium and chromium-driver")
TASK_ID = {t.task: t.id for t in TASKS}


@pytest.fixture(scope="module")
def driver() -> Iterator:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--disable-extensions",
        "--no-first-run",
        "--disable-background-networking",
    ):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    browser.implicitly_wait(0)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioServer]:
    app = create_app(
        studio_dataset(), tmp_path_factory.mktemp("studio-browser"), settings(n_pairs=40), services()
    )
    with StudioServer(app) as running:
        yield running


def by_testid(driver, name: str):
    return driver.find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]')


def progress(driver) -> str:
    return by_testid(driver, "progress").text


def wait(driver, condition, timeout: float = 10):
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def open_annotate(driver, url: str) -> str:
    """Sign in with ``url``; the progress text once the first pair is shown."""
    driver.delete_all_cookies()
    driver.get(url)
    wait(driver, lambda d: "judged" in progress(d))
    return progress(driver)


def shown(driver) -> tuple[str, str]:
    """``(task_id, employee_id)`` of the pair on the page."""
    return TASK_ID[driver.find_element(By.ID, "task-text").text], driver.find_element(
        By.ID, "employee-id"
    ).text


def press(driver, key: str) -> str:
    """Press ``key`` on the page and wait for the progress text to change; the new text."""
    before = progress(driver)
    driver.find_element(By.TAG_NAME, "body").send_keys(key)
    wait(driver, lambda d: progress(d) != before)
    return progress(driver)


def labels(out: Path) -> dict[tuple[str, str], int]:
    with (out / "labels.csv").open(newline="") as handle:
        return {(r["task_id"], r["employee_id"]): int(r["label"]) for r in csv.DictReader(handle)}


def test_label_ten_pairs_by_keyboard_then_skip_and_undo(driver, server: StudioServer) -> None:
    out = server.app.state.out_dir
    assert open_annotate(driver, server.login_url("keys")).startswith("0 judged")
    assert driver.current_url.endswith("/annotate")
    expected = {}
    for i in range(10):
        pair = shown(driver)
        task = next(t for t in TASKS if t.id == pair[0])
        assert (
            task.project in by_testid(driver, "task").text and pair[1] in by_testid(driver, "employee").text
        )
        key = "1" if i % 3 else "0"
        press(driver, key)
        expected[pair] = int(key)
    assert progress(driver).startswith("10 judged")
    got = labels(out)
    assert all(got[pair] == label for pair, label in expected.items())
    skipped = shown(driver)
    assert "1 skipped" in press(driver, "s") and shown(driver) != skipped
    last = list(expected)[-1]
    press(driver, "u")  # undoes the skip: the skipped pair is back
    assert shown(driver) == skipped
    press(driver, "u")  # undoes the tenth answer
    assert progress(driver).startswith("9 judged") and shown(driver) == last
    assert last not in labels(out)
    by_testid(driver, "label-1").click()
    wait(driver, lambda d: progress(d).startswith("10 judged"))
    assert labels(out)[last] == 1
    by_testid(driver, "undo").click()
    wait(driver, lambda d: progress(d).startswith("9 judged"))
    assert last not in labels(out)


def test_planted_script_shows_escaped_in_full_and_never_runs(driver, server: StudioServer) -> None:
    open_annotate(driver, server.login_url("xss"))
    for _ in range(45):
        if shown(driver)[1] == "glaze1":
            break
        press(driver, "s")
    assert shown(driver)[1] == "glaze1"
    employee = by_testid(driver, "employee")
    assert PLANTED in employee.text
    assert not employee.find_elements(By.CSS_SELECTOR, "script, img, b")
    assert driver.execute_script("return window.__pwned === undefined")


def test_team_builder_accept_and_replace(driver, server: StudioServer) -> None:
    out = server.app.state.out_dir
    open_annotate(driver, server.login_url("lead"))
    driver.get(server.base_url + "/team")
    project = by_testid(driver, "project-input")
    project.send_keys("Kiln line", Keys.TAB)  # the change event loads the project's tasks
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="task-row"]')) == 2)
    driver.find_element(By.ID, "add-task").click()
    rows = driver.find_elements(By.CSS_SELECTOR, '[data-testid="task-row"] input')
    assert [r.get_attribute("value") for r in rows[:2]] == [TASKS[0].task, TASKS[1].task]
    rows[2].send_keys("Order new kiln bricks")
    driver.find_element(By.ID, "propose").click()
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="team-row"]')) == 3)
    team = driver.find_elements(By.CSS_SELECTOR, '[data-testid="team-row"]')
    team[0].find_element(By.CSS_SELECTOR, '[data-testid="accept"]').click()
    wait(driver, lambda d: "Accepted kiln0" in team[0].text)
    Select(team[1].find_element(By.CSS_SELECTOR, '[data-testid="replacement"]')).select_by_value("glaze1")
    team[1].find_element(By.CSS_SELECTOR, '[data-testid="replace"]').click()
    wait(driver, lambda d: "Replaced kiln1 by glaze1" in team[1].text)
    team[1].find_element(By.CSS_SELECTOR, "details.person summary").click()  # the full profile
    assert PLANTED in team[1].text and not team[1].find_elements(By.CSS_SELECTOR, "script, img, b")
    assert driver.execute_script("return window.__pwned === undefined")
    team[2].find_element(By.CSS_SELECTOR, '[data-testid="accept"]').click()
    wait(driver, lambda d: "Accepted kiln2" in team[2].text)
    got = labels(out)
    assert got[("t1", "kiln0")] == 1 and got[("t2", "kiln1")] == 0 and got[("t2", "glaze1")] == 1
    loaded = load_custom(out)
    new = [t for t in loaded.tasks if t.task == "Order new kiln bricks"]
    assert len(new) == 1 and loaded.qrels[new[0].id] == {"kiln2": 1}


def test_request_without_the_token_shows_the_fix(driver, server: StudioServer) -> None:
    driver.delete_all_cookies()
    driver.get(server.base_url + "/annotate")
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "Not signed in" in body and "teamform label serve" in body
    driver.get(server.base_url + "/login?token=wrong")
    assert "expired" in driver.find_element(By.TAG_NAME, "body").text


def test_restart_resumes_where_the_annotator_stopped(driver, tmp_path: Path) -> None:
    with StudioServer(create_app(studio_dataset(), tmp_path, settings(), services())) as first:
        open_annotate(driver, first.login_url("res"))
        for _ in range(3):
            press(driver, "1")
        fourth = shown(driver)
        old_url = first.login_url("res")
    with StudioServer(create_app(studio_dataset(), tmp_path, settings(), services())) as second:
        driver.get(old_url.replace(str(first.port), str(second.port)))  # the old token has expired
        assert "expired" in driver.find_element(By.TAG_NAME, "body").text
        assert open_annotate(driver, second.login_url("res")).startswith("3 judged")
        assert shown(driver) == fourth
        press(driver, "0")
    assert labels(tmp_path)[fourth] == 0
