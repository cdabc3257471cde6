"""The console in Debian's Chromium against a real `triage serve`: sign in, clear reviews with the keyboard,
a wrong key refused, nothing fetched from outside 127.0.0.1, /docs and /redoc rendered offline."""

from __future__ import annotations

import pytest

from api.console.browser import CHROMIUM, KEYS, Watched, browser_env, chromium, seed, serve
from api.testing import call

from ..._small_bundle import small_bundle

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} "
                                 "(apt-get install -y chromium; .ci/run installs it)")]


@pytest.fixture(scope="module")
def server(tmp_path_factory, use_embedder, cache_dir):  # type: ignore[no-untyped-def]
    _, result = small_bundle(tmp_path_factory, use_embedder, cache_dir)
    root = tmp_path_factory.mktemp("browser")
    with serve(result.bundle, browser_env(root, cache_dir)) as (url, _):
        seed(url, 12)
        with chromium() as browser:
            yield url, browser


def test_l3_signs_in_and_clears_reviews_with_the_keyboard(server) -> None:  # type: ignore[no-untyped-def]
    url, browser = server
    w = Watched(browser, url, locale="en-US")
    try:
        w.sign_in(KEYS["l3"], "/ui/review")
        page = w.page
        page.wait_for_selector("#queue > li.item")
        assert page.locator("button.confirm").first.inner_text().startswith("Confirm")
        first = page.locator("#queue > li.item").first.get_attribute("data-ticket")
        page.keyboard.press("c")  # the first item has focus on load
        page.wait_for_selector(f'li[data-ticket="{first}"][data-done="stored"]')
        page.keyboard.press("j")
        page.keyboard.press("k")
        page.keyboard.press("j")
        focused = page.evaluate("document.activeElement.getAttribute('data-ticket')")
        page.keyboard.press("e")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_selector(f'li[data-ticket="{focused}"][data-done]')
        status, body = call("GET", f"{url}/v1/feedback?reviewer=l3", headers={"X-API-Key": KEYS["l3"]})
        assert status == 200
        reviewed = {i["ticket_id"]: i for i in body["items"]}
        assert (first in reviewed and reviewed[first]["accepted"]) or reviewed[first]["predicted"] is None
        assert focused in reviewed and reviewed[focused]["reviewer"] == "l3"
        queue = call("GET", f"{url}/v1/review/queue?field=module&limit=100", headers={"X-API-Key": KEYS["l3"]})[1]
        assert not {first, focused} & {i["ticket_id"] for i in queue["items"]}
        for path in ("/ui/ticket?id=Q-0001", "/ui/lang/ru?next=/ui/review"):
            page.goto(url + path)
        assert page.locator("button.confirm").first.inner_text().startswith("Подтвердить")
        assert w.outside == [] and w.csp == [], (w.outside, w.csp)
    finally:
        w.close()


def test_a_wrong_key_is_refused_and_an_agent_cannot_review(server) -> None:  # type: ignore[no-untyped-def]
    url, browser = server
    w = Watched(browser, url, locale="ru-RU")
    try:
        w.sign_in("trg_not-a-key")
        assert "неизвестен" in w.page.locator("#sign-in-error").inner_text()
        assert "/ui/sign-in" in w.page.url
        w.sign_in(KEYS["agent"], "/ui/review")
        assert "Нет доступа" in w.page.locator("h1").inner_text()
        assert w.page.locator('nav a[href="/ui/review"]').count() == 0
        assert w.outside == [] and w.csp == [], (w.outside, w.csp)
    finally:
        w.close()


def test_docs_and_charts_render_offline(server) -> None:  # type: ignore[no-untyped-def]
    url, browser = server
    w = Watched(browser, url)
    try:
        w.page.goto(url + "/docs")
        w.page.wait_for_selector("#operations-review-review_queue_v1_review_queue_get", timeout=20_000)
        w.page.goto(url + "/redoc")
        # a text selector, not wait_for_function: its string predicate is an eval, which our CSP refuses
        w.page.wait_for_selector("text=Predictions awaiting", state="attached", timeout=20_000)
        w.sign_in(KEYS["all"], "/ui/escalations")
        w.page.wait_for_selector("#escalation-table")
        assert w.page.evaluate("Chart.instances && Object.keys(Chart.instances).length") >= 2
        w.page.goto(url + "/ui/problems")
        assert w.outside == [], w.outside
        assert w.csp == [], w.csp
    finally:
        w.close()
