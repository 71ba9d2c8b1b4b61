"""A local web site for the evidence browser's tests, on 127.0.0.1 only.

Every request is recorded (method and path), so a test can prove that nothing was
POSTed and that a blocked address was never reached. ``/hold`` answers with headers and
then never sends its body, so a page that includes it never finishes loading.
"""

from __future__ import annotations

import sys
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

TALL_HEIGHT = 30_000
HOLD_LIMIT_S = 60.0  # a held request is let go after this, whatever happens


def _png_pixel() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PIXEL_PNG = _png_pixel()


def _html(title: str, body: str) -> str:
    head = f"<meta charset=utf-8><title>{title}</title>"
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


PAGES: dict[str, str] = {
    "/plain": _html("Plain page", "<p>Nothing happens here.</p>"),
    "/js-only": _html(
        "Built by script",
        "<div id=app></div><script>"
        "document.getElementById('app').innerHTML = '<h1>Made by script 4711</h1>"
        '<div id=block style="background:#0050ff;width:600px;height:400px"></div>\';'
        "</script>",
    ),
    "/posts": _html(
        "Posts on load",
        "<form id=f method=post action=/submit><input name=a value=b></form><script>"
        "fetch('/collect', {method: 'POST', body: 'secret=1'}).catch(function () {});"
        "navigator.sendBeacon('/beacon', 'x');"
        "var x = new XMLHttpRequest(); x.open('PUT', '/put'); x.send('y');"
        "setTimeout(function () { document.getElementById('f').submit(); }, 100);"
        "</script>",
    ),
    "/sign-in": _html(
        "Sign in",
        "<form id=login method=post action=/session>"
        "<input name=user autocomplete=username><input name=password type=password "
        "autocomplete=current-password><button id=go type=submit>Sign in</button></form>"
        "<script>setTimeout(function () {"
        "document.querySelector('[name=user]').value = 'worker';"
        "document.querySelector('[name=password]').value = 'hunter2';"
        "document.getElementById('go').click(); }, 100);</script>",
    ),
    "/get-form": _html(
        "Search form",
        "<form id=f method=get action=/plain><input name=q value=kerry></form>"
        "<script>setTimeout(function () { document.getElementById('f').submit(); }, 100);"
        "</script>",
    ),
    "/landing": _html(
        "Landing",
        "<p>Arrived.</p><a id=out href='/out-of-scope'>elsewhere</a>"
        "<a id=in href='/plain'>plain</a>",
    ),
    "/popup": _html(
        "Pop-up",
        "<a id=blank target=_blank href='/plain'>new tab</a>"
        "<script>window.open('/landing');</script>",
    ),
    "/popup-out": _html(
        "Pop-up out", "<p>Stays.</p><script>window.open('/out-of-scope');</script>"
    ),
    "/clipboard": _html(
        "Clipboard",
        "<script>navigator.clipboard.readText().then(function () {"
        " document.title = 'clipboard:read'; }, function (e) {"
        " document.title = 'clipboard:' + e.name; });</script>",
    ),
    "/workers": _html(
        "Workers",
        "<script>"
        "var w = new Worker('/worker.js');"
        "navigator.serviceWorker.register('/sw.js').then(function () {"
        " document.title = 'sw:registered'; }, function (e) {"
        " document.title = 'sw:' + e.name; });"
        "</script>",
    ),
    "/blank-link": _html("Blank link", "<a id=blank target=_blank href='/plain'>new tab</a>"),
    "/permissions": _html(
        "Permissions",
        "<script>var seen = [];"
        "function say(x) { seen.push(x); document.title = seen.sort().join(' '); }"
        "navigator.geolocation.getCurrentPosition(function () { say('geo:granted'); },"
        " function (e) { say('geo:' + e.code); });"
        "Notification.requestPermission().then(function (r) { say('notify:' + r); });"
        "</script>",
    ),
    "/spa": _html(
        "App",
        "<script>var paths = ['/spa/one', '/spa/two', '/spa/three'];"
        "function next(i) { if (i >= paths.length) return;"
        " history.pushState({i: i}, '', paths[i]); document.title = 'App ' + i;"
        " setTimeout(function () { next(i + 1); }, 150); }"
        "window.addEventListener('load', function () {"
        " setTimeout(function () { next(0); }, 150); });</script>",
    ),
    "/never": _html("Never finishes", "<p>Still loading.</p><img src='/hold'>"),
    "/download": _html(
        "Download",
        "<a id=file href='/file'>report</a><a id=attr href='/pixel.png' download='x.png'>x</a>",
    ),
    "/dialogs": _html(
        "Dialogs",
        "<script>alert('hello'); var c = confirm('sure?'); var p = prompt('name?', 'x');"
        "document.title = 'after ' + c + ' ' + p;</script>",
    ),
    "/statuses": _html(
        "Statuses",
        "<img src='/pixel.png'><img src='/missing.png'><script src='/script.js'></script>",
    ),
    "/inspect": """<!doctype html><html><head><meta charset=utf-8><title>Inspecting</title>
<script>
function inspect() {
  var frame = document.createElement('iframe');
  document.documentElement.appendChild(frame);
  var fresh = new Set(Object.getOwnPropertyNames(frame.contentWindow));
  var extra = Object.getOwnPropertyNames(window).filter(function (name) {
    return !fresh.has(name) && !/^[0-9]+$/.test(name) && name !== 'inspect';
  });
  frame.remove();
  var nodes = Array.prototype.map.call(document.querySelectorAll('*'), function (e) {
    return e.tagName + ':' + Array.prototype.map.call(e.attributes, function (a) {
      return a.name; }).join(',');
  });
  var brands = navigator.userAgentData ? navigator.userAgentData.brands.map(function (b) {
    return b.brand; }) : [];
  return {
    extra: extra,
    qt: typeof window.qt,
    webdriver: navigator.webdriver,
    ua: navigator.userAgent,
    brands: brands,
    scripts: document.scripts.length,
    nodes: nodes,
    head: document.head.children.length
  };
}
window.addEventListener('load', function () {
  var found = inspect();
  fetch('/report?' + encodeURIComponent(JSON.stringify(found)));
  document.title = 'inspected';
});
</script></head><body><p id=p class=c>Look at me.</p></body></html>""",
    "/tall": (
        "<!doctype html><html><head><title>Tall</title></head>"
        "<body style='margin:0'>"
        f"<div style='height:{TALL_HEIGHT - 200}px;background:linear-gradient(#ff0000,#0000ff)'>"
        "</div><div style='height:200px;background:#00ff00'></div></body></html>"
    ),
    "/basic": "",  # answered 401 below
}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the browser stopped a load it no longer needed: not an error
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class Site:
    """The server, its request log, and the held requests' release."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.release = threading.Event()
        handler = _handler(self._record, self.release)
        self.server = _Server(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self.seen)

    def methods(self) -> set[str]:
        return {s.method for s in self.requests()}

    def paths(self) -> list[str]:
        return [s.path for s in self.requests()]


def _handler(
    record: Callable[[Seen], None], release: threading.Event
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: bytes, content_type: str, **extra: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Test-Site", "yes")
            for name, value in extra.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_POST(self) -> None:
            record(Seen("POST", self.path, self._body()))
            self._send(200, b"posted", "text/plain")

        def do_PUT(self) -> None:
            record(Seen("PUT", self.path, self._body()))
            self._send(200, b"put", "text/plain")

        def do_GET(self) -> None:
            record(Seen(self.command, self.path, b""))
            path = urlsplit(self.path).path
            if path == "/redirect":
                self._send(302, b"", "text/plain", Location="/landing")
            elif path == "/redirect-out":
                self._send(302, b"", "text/plain", Location="/out-of-scope")
            elif path == "/stall":  # no answer at all until released
                release.wait(HOLD_LIMIT_S)
                self.close_connection = True
            elif path == "/hold":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.flush()
                release.wait(HOLD_LIMIT_S)
                self.close_connection = True
            elif path == "/file":
                self._send(
                    200,
                    b"secret file contents",
                    "application/octet-stream",
                    Content_Disposition="attachment; filename=report.bin",
                )
            elif path == "/pixel.png":
                self._send(200, PIXEL_PNG, "image/png")
            elif path == "/worker.js":
                body = b"fetch('/from-worker', {method: 'POST', body: 'w'}).catch(function () {});"
                self._send(200, body, "text/javascript")
            elif path == "/sw.js":
                body = (
                    b"self.addEventListener('install', function () {"
                    b" fetch('/from-service-worker', {method: 'POST', body: 's'}); });"
                )
                self._send(200, body, "text/javascript")
            elif path == "/script.js":
                self._send(200, b"var loaded = 1;", "text/javascript")
            elif path == "/basic":
                self._send(401, b"no", "text/plain", WWW_Authenticate='Basic realm="private"')
            elif path == "/private":
                port = int(self.server.server_port)  # type: ignore[attr-defined]
                self._send(200, private_page(port).encode(), "text/html")
            elif path == "/big":
                posts = int(urlsplit(self.path).query.removeprefix("posts=") or 90)
                self._send(200, big_page(posts).encode("utf-8"), "text/html; charset=utf-8")
            elif path.startswith("/big-image/"):
                self._send(200, big_image(int(path.rsplit("/", 1)[1])), "image/bmp")
            elif path.startswith("/spa/"):
                self._send(200, PAGES["/spa"].encode("utf-8"), "text/html; charset=utf-8")
            elif path in PAGES:
                self._send(200, PAGES[path].encode("utf-8"), "text/html; charset=utf-8")
            else:
                self._send(404, _html("Not here", "<p>Nothing</p>").encode(), "text/html")

    return Handler


PRIVATE_TARGETS = (
    "http://localhost:{port}/pixel.png?via=localhost",
    "http://127.0.0.2:{port}/pixel.png?via=other-loopback",
    "http://2130706434:{port}/pixel.png?via=decimal",
    "http://[::1]:{port}/pixel.png?via=ipv6",
    "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/x.png",
    "http://192.168.0.1/x.png",
)


def private_page(port: int) -> str:
    """Images from private addresses (all blocked) and one from the allowed 127.0.0.1."""
    images = "".join(f"<img src='{t.format(port=port)}'>" for t in PRIVATE_TARGETS)
    allowed = f"<img src='http://127.0.0.1:{port}/pixel.png?via=allowed'>"
    return _html("Private", images + allowed)


BIG_IMAGES = 15
_BIG_IMAGE_SIDE = 200  # 200 x 200 x 3 bytes: 120 kB each, uncompressed BMP


def big_page(posts: int = 90) -> str:
    """A typical 2 MB page: 15 images of 120 kB, and 340 kB of HTML of which a tenth
    shows (90 posts, 13800 pixels tall at 1280 wide) and the rest is what sites carry
    unseen (an embedded JSON state blob, as single-page apps send)."""
    blocks = []
    every = max(1, posts // BIG_IMAGES)
    for i in range(posts):
        blocks.append(
            f"<div class='post' data-id='{i}'><h3>Post {i}</h3><p>Lorem ipsum dolor sit amet, "
            "consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore "
            "magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris "
            "nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit "
            "in voluptate velit esse cillum dolore eu fugiat nulla pariatur, "
            "<a href='/plain'>a link</a>.</p></div>"
        )
        if i % every == 0 and i // every < BIG_IMAGES:
            blocks.append(f"<img src='/big-image/{i // every}' width=200 height=200>")
    state = ",".join(f'{{"id":{i},"text":"{"x" * 280}"}}' for i in range(1000))
    blocks.append(f"<script type='application/json' id='state'>[{state}]</script>")
    return _html("A typical page", "".join(blocks))


def big_image(seed: int) -> bytes:
    side = _BIG_IMAGE_SIDE
    row = bytes(
        value
        for x in range(side)
        for value in ((x * 7 + seed * 31) % 256, (x * 3) % 256, seed * 20 % 256)
    )
    pixels = b"".join(row for _ in range(side))
    header_size = 54
    size = header_size + len(pixels)
    return (
        b"BM"
        + size.to_bytes(4, "little")
        + b"\0\0\0\0"
        + header_size.to_bytes(4, "little")
        + (40).to_bytes(4, "little")
        + side.to_bytes(4, "little")
        + side.to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + (24).to_bytes(2, "little")
        + b"\0" * 24
        + pixels
    )
