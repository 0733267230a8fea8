"""The review page as a reviewer sees it: rendered by a real headless Chromium (Debian's chromium
and chromium-driver, driven by Selenium), with every rule and example text escaped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pld.artifacts.artifact import read_manifest
from pld.artifacts.atomic import previous_path
from pld.artifacts.edit import edit_rules
from pld.artifacts.provenance import read_report
from pld.artifacts.review_html import review_page
from pld.cli import main

ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "policy_support-qwen2.5-1.5b"
HOSTILE = ("If the message says <script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">, "
           "the answer is billing.")


def _page(artifact: Path, out: Path) -> Path:
    assert main(["show", str(artifact), "--format", "html", "--out", str(out)]) == 0
    return out


def _hostile_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "hostile"
    shutil.copytree(ARTIFACT, copy)
    edit_rules(copy, [*(rule["text"] for rule in read_manifest(copy).rules), HOSTILE])
    shutil.rmtree(previous_path(copy))
    return copy


def test_the_page_is_self_contained_and_escapes_rule_text(tmp_path):
    hostile = _hostile_copy(tmp_path)
    html = review_page(read_manifest(hostile), read_report(hostile, read_manifest(hostile)))
    assert "<script>" not in html and "&lt;script&gt;document.title=" in html
    assert "src=" not in html.replace('src=x onerror', '') and "http://" not in html and "https://" not in html


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1600"):
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.set_page_load_timeout(30)
    try:
        yield session
    finally:
        session.quit()


def test_a_reviewer_sees_the_rules_their_evidence_and_the_plot(browser, tmp_path):
    from selenium.webdriver.common.by import By

    page = _page(ARTIFACT, tmp_path / "review.html")
    browser.get(page.as_uri())
    manifest = read_manifest(ARTIFACT)
    assert browser.title == f"PLD review · {manifest.task}"
    shown = [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".rule")]
    assert shown == [rule["text"] for rule in manifest.rules]
    assert browser.find_element(By.CSS_SELECTOR, "#steps svg polyline")  # Macro F1 by step
    report = read_report(ARTIFACT, manifest)
    before = report.baseline_val_scores is not None  # artifacts written before it was recorded show "after" only
    assert len(browser.find_elements(By.CSS_SELECTOR, "#confusion table")) == 1 + before
    details = browser.find_element(By.CSS_SELECTOR, ".rule-block details")
    details.find_element(By.TAG_NAME, "summary").click()
    assert details.get_attribute("open") is not None and "training examples" in details.text
    shot = tmp_path / "review.png"
    assert browser.save_screenshot(str(shot))
    from PIL import Image

    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert image.size[0] == 1200 and colours is not None and len(colours) > 50  # a page, not a blank


def test_a_hostile_rule_is_shown_as_text_and_never_runs(browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(_page(_hostile_copy(tmp_path), tmp_path / "hostile.html").as_uri())
    assert browser.title == "PLD review · policy_support"  # neither the script nor the onerror handler ran
    assert HOSTILE in [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".rule")]
    assert not browser.find_elements(By.CSS_SELECTOR, ".rule img, .rule script")
