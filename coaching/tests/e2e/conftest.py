"""Browser tests: Playwright drives Debian's chromium against pytest-django's live_server."""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
# are still synchronous and safe. Set here only, never for the app.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("LADDER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (`apt-get install chromium`); "
                    "`make test` does this when it can.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS, "headless": True}




# Every page a browser test opens is held to the Content-Security-Policy: a violation (an inline script or
# style, eval, a resource from elsewhere) or an uncaught script error fails the test that met it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`
                + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Fails the browser test if any page it opened reported a CSP violation or a script error."""
    if "page" not in request.fixturenames:
        yield []
        return
    page = request.getfixturevalue("page")
    problems = []
    page.add_init_script(REPORT_CSP_VIOLATIONS)
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" and (
        "CSP violation" in message.text or "Content Security Policy" in message.text) else None)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    yield problems
    assert problems == [], f"the page broke its Content-Security-Policy: {problems}"
