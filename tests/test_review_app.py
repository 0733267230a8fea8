"""``pld review``: the app over a copy of the committed main-job artifact, its real validation and
held-back examples, and a deterministic student that follows the Enterprise rule when it reads it;
through its JSON API and in a real headless Chromium (Debian's chromium, driven by Selenium)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from pld.artifacts.artifact import read_manifest
from pld.artifacts.atomic import previous_path
from pld.review.app import create_app, free_socket, new_token
from pld.review.session import open_session
from tests.fakes import field_value, function_lm

ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "policy_support-qwen2.5-1.5b"


def policy_student(system: str, user: str) -> dict[str, str]:
    """Routes by the topic words; follows a rule about the Enterprise plan when its prompt holds one."""
    message, plan = field_value(user, "message").lower(), field_value(user, "plan")
    if "plan is Enterprise" in system and plan == "Enterprise":
        return {"queue": "priority"}
    technical = any(word in message for word in ("error", "log in", "crash", "sync", "two-factor", "api"))
    return {"queue": "technical" if technical else "billing"}


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    copy = tmp_path / "artifact"
    shutil.copytree(ARTIFACT, copy)
    return copy


@pytest.fixture
def session(artifact: Path, data_dir: Path):
    student, _ = function_lm(policy_student, "policy-student")
    return open_session(artifact, data_dir=str(data_dir), student_lm=student)


def _finished(client, job: str) -> dict:
    """The job's state once it stops running (10 s at most)."""
    for _ in range(200):
        state = client.get(f"/api/jobs/{job}").json()
        if state["status"] != "running":
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job} still running: {state}")


def test_the_app_refuses_requests_without_its_token(session):
    from fastapi.testclient import TestClient

    client = TestClient(create_app(session, "secret-token"))
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.post("/api/save", json={"rules": []}).status_code == 403
    page = client.get("/?token=secret-token")
    assert page.status_code == 200 and 'id="editor"' in page.text


def test_dropping_the_rule_is_rescored_with_the_gain_test_and_saved_as_the_next_version(session, artifact):
    from fastapi.testclient import TestClient

    client = TestClient(create_app(session, "t"), headers={"X-PLD-Token": "t"})
    saved = client.get("/api/state").json()["rules"]
    assert saved == [rule["text"] for rule in read_manifest(artifact).rules] and saved
    job = client.post("/api/jobs", json={"kind": "rescore", "rules": saved[1:]}).json()["id"]
    state = _finished(client, job)
    assert state["status"] == "done", state
    validation = state["result"]["validation"]
    assert validation["n"] == len(session.selection) and validation["edited"] < validation["saved"]
    assert validation["gain"]["high"] < 0 and validation["changed"]  # the Enterprise tickets go back to the topic
    assert all(change["before"] == "priority" for change in validation["changed"])
    assert "held-back" in state["result"]
    assert client.post("/api/diff", json={"rules": saved[1:]}).json()["lines"][0].startswith("- removed (#1)")
    job = client.post("/api/jobs", json={"kind": "contributions"}).json()["id"]
    state = _finished(client, job)
    (row,) = state["result"]  # one saved rule: what the list loses without it, and the answers it fixes
    assert row["rule"] == saved[0] and row["validation"]["drop"] > 0 and row["validation"]["fixes"]
    answer = client.post("/api/save", json={"rules": saved[1:]}).json()
    manifest = read_manifest(artifact)
    assert answer["rules"] == [] and manifest.rules == [] and manifest.edited_by_hand
    assert read_manifest(previous_path(artifact)).rules  # the version replaced is kept


def test_a_student_fault_is_a_message_not_a_blank_page(artifact, data_dir):
    from fastapi.testclient import TestClient

    def broken(system: str, user: str) -> dict[str, str]:
        raise RuntimeError("engine exploded")

    student, _ = function_lm(broken, "broken")
    client = TestClient(create_app(open_session(artifact, data_dir=str(data_dir), student_lm=student), "t"),
                        headers={"X-PLD-Token": "t"})
    job = client.post("/api/jobs", json={"kind": "rescore", "rules": []}).json()["id"]
    state = _finished(client, job)
    assert state["status"] == "failed" and "engine exploded" in state["error"]


@pytest.fixture
def served(session):
    """The app on a real loopback socket (uvicorn in a thread), stopped after the test."""
    import uvicorn

    token = new_token()
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(create_app(session, token), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/?token={token}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_reviewer_drops_a_rule_rescores_and_saves_in_a_real_browser(served, artifact):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        browser.get(served)
        wait = WebDriverWait(browser, 60)
        wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#edit-rules textarea")))
        rules = [area.get_attribute("value") for area in browser.find_elements(By.CSS_SELECTOR, "#edit-rules textarea")]
        assert rules == [rule["text"] for rule in read_manifest(artifact).rules]
        browser.find_element(By.CSS_SELECTOR, "#edit-rules li .drop").click()
        assert not browser.find_elements(By.CSS_SELECTOR, "#edit-rules textarea")
        browser.find_element(By.ID, "rescore").click()
        wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "message"), "re-scored"))
        result = browser.find_element(By.ID, "result").text
        assert "validation" in result and "held-back" in result and "answer(s) changed" in result
        browser.find_element(By.ID, "save").click()
        wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "message"), "saved"))
        manifest = read_manifest(artifact)
        assert manifest.rules == [] and manifest.edited_by_hand and previous_path(artifact).is_dir()
    finally:
        browser.quit()
