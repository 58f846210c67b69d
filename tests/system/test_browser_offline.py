"""The admin and the API docs in a real browser (Debian's chromium, headless):
each page renders, asks nothing of another host, and trips no
Content-Security-Policy rule."""

import re
import shutil
import socket
import subprocess
import threading

import pytest

pytestmark = pytest.mark.django_db

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# What each page shows once its scripts have run (not just the HTML shell).
PAGES = {
    "/api/docs/": "opblock-summary",  # Swagger UI rendered the operations
    "/api/redoc/": "Log in: a token pair",  # ReDoc rendered the schema
    "/admin/login/": 'id="login-form"',
}


# Chromium's own background traffic (clock, updates, sign-in), not a page's.
BROWSER_SERVICES = {
    "clients2.google.com",
    "update.googleapis.com",
    "accounts.google.com",
    "content-autofill.googleapis.com",  # a form on the page (the admin login)
}
_REQUEST_HOST = re.compile(rb"^(?:CONNECT ([^:\s]+)|[A-Z]+ https?://([^/:\s]+))")


class OffHostRecorder:
    """Where chromium sends every request not to this host (its proxy; loopback
    bypasses it): the host of each such request, which would have left the host."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.hosts: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            client.settimeout(2)
            try:
                found = _REQUEST_HOST.match(client.recv(1024))
                self.hosts.append((found.group(1) or found.group(2)).decode() if found else "?")
            except OSError:
                self.hosts.append("?")
            client.close()

    @property
    def page_requests(self) -> list[str]:
        return [host for host in self.hosts if host not in BROWSER_SERVICES]

    def close(self):
        self.server.close()


@pytest.fixture
def off_host():
    recorder = OffHostRecorder()
    yield recorder
    recorder.close()


def render(url: str, proxy_port: int) -> tuple[str, str]:
    """(the DOM after the page's scripts ran, chromium's console log)."""
    assert CHROMIUM, "chromium is not installed (scripts/ensure-services.sh installs it)"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--proxy-server=http://127.0.0.1:{proxy_port}",  # loopback bypasses it
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout, result.stderr


@pytest.mark.parametrize("path", list(PAGES))
def test_the_page_works_offline_with_no_csp_violation(live_server, off_host, path):
    dom, console = render(f"{live_server.url}{path}", off_host.port)
    assert PAGES[path] in dom, f"{path} did not render: {dom[:500]}"
    violations = [
        line for line in console.splitlines() if re.search(r"Content Security Policy|Refused to", line)
    ]
    assert violations == []
    assert off_host.page_requests == []
