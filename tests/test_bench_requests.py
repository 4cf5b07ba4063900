"""bench/wrk_requests.lua, as bench/serve.py runs it: a cold row sends its list in order, each
line once, and counts what it sends past the end as repeats; a warm row draws lines at random.

wrk loads a small HTTP server of this module's own that records every path it is sent.
"""

import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.serve import wrk_command, wrk_result

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk")


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn's clients get
    disable_nagle_algorithm = True  # else each answer waits for a delayed ACK: 25 a second
    paths: list[str] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    Recorder.paths = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def run(server, requests: Path, *, connections: int, walk: bool) -> dict:
    port = server.server_address[1]
    command = wrk_command(port, requests, connections=connections, seconds=1, walk=walk)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return wrk_result(output, connections)


@pytest.mark.parametrize("connections", [1, 4])
def test_a_walk_sends_every_line_once_before_any_again(server, tmp_path, connections):
    lines = [f"/line/{number}" for number in range(40)]
    requests = tmp_path / "cold.txt"
    requests.write_text("".join(f"GET {line}\n" for line in lines))

    result = run(server, requests, connections=connections, walk=True)

    sent = Recorder.paths
    assert len(sent) > 2 * len(lines), "a second's requests outnumber the list: it ran out"
    # Each of wrk's threads walks every threads-th line from its own: within a thread's lines,
    # no line is sent twice before every other has been sent as often. (One more apart at
    # most when wrk stopped with a request on each of its connections that never arrived.)
    threads = min(2, connections)
    for first in range(threads):
        counts = [sent.count(line) for line in lines[first::threads]]
        assert max(counts) - min(counts) <= 1 + connections // threads, counts
    assert set(sent) == set(lines)
    # What is sent past the end is counted (and requests sent as wrk stopped, never answered).
    assert len(sent) - len(lines) <= result["repeated"] <= len(sent) - len(lines) + connections


def test_a_list_long_enough_has_no_repeats(server, tmp_path):
    lines = [f"/line/{number}" for number in range(200_000)]
    requests = tmp_path / "cold.txt"
    requests.write_text("".join(f"GET {line}\n" for line in lines))

    result = run(server, requests, connections=2, walk=True)

    assert result["repeated"] == 0
    assert len(set(Recorder.paths)) == len(Recorder.paths) > 0


def test_without_walk_lines_are_drawn_at_random(server, tmp_path):
    lines = [f"/line/{number}" for number in range(40)]
    requests = tmp_path / "warm.txt"
    requests.write_text("".join(f"GET {line}\n" for line in lines))

    result = run(server, requests, connections=1, walk=False)

    sent = Recorder.paths
    assert result["repeated"] == 0  # not counted when lines are drawn at random
    assert sent[: len(lines)] != lines
    assert len(set(sent[: len(lines)])) < len(lines)  # 40 draws of 40: a repeat, all but surely
