"""README screenshots of the web console, taken the way the browser tests drive it: a real `triage serve`
on a small demo bundle, Debian's Chromium through Playwright, real tickets classified through the API.

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from api.console.browser import KEYS, Watched, browser_env, burst, chromium, demo_bundle, seed, serve  # noqa: E402

OUT = REPO / "docs" / "screenshots"
SHOTS = [  # (file, key, path, language)
    ("sign-in.png", None, "/ui/sign-in", "en-US"),
    ("review-queue.png", "l3", "/ui/review?field=module", "en-US"),
    ("review-queue-ru.png", "l3", "/ui/review?field=module", "ru-RU"),
    ("ticket.png", "all", "/ui/ticket?id=Q-0003", "ru-RU"),
    ("incidents.png", "all", "/ui/incidents", "en-US"),
    ("problems.png", "all", "/ui/problems", "en-US"),
    ("escalations.png", "all", "/ui/escalations?by=agent", "en-US"),
    ("model.png", "analyst", "/ui/model", "en-US"),
    ("docs.png", None, "/docs", "en-US"),
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="triage-shots-") as tmp:
        root = Path(tmp)
        cache = Path.home() / ".cache" / "triage"
        model = demo_bundle(root / "bundle", cache)
        with serve(model, browser_env(root, cache)) as (url, _), chromium() as browser:
            seed(url, 60)
            burst(url)
            for name, key, path, locale in SHOTS:
                w = Watched(browser, url, locale=locale, viewport={"width": 1280, "height": 860})
                if key is not None:
                    w.sign_in(KEYS[key], path)
                else:
                    w.page.goto(url + path)
                w.page.wait_for_load_state("networkidle")
                if path == "/ui/review?field=module" and locale == "en-US":
                    w.page.keyboard.press("c")  # one confirmed with the keyboard, the next one focused
                    w.page.wait_for_selector('li[data-done="stored"]')
                w.page.screenshot(path=str(OUT / name), full_page=False)
                assert w.outside == [], w.outside
                w.close()
                print("wrote", OUT / name)


if __name__ == "__main__":
    main()
