"""brandbase.http1, the delivery client, against scripted raw HTTP servers on 127.0.0.1:
framings (chunked, close-delimited), keep-alive reuse, a pooled connection the server
dropped, oversize and malformed responses, redirects, timeouts."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from brandbase import http1

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


async def serve(answers: list[bytes], close_after: bool = False):
    """A server answering each request with the next scripted bytes; counts connections."""
    seen = {"connections": 0, "requests": []}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["connections"] += 1
        try:
            while answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                seen["requests"].append(head + await reader.readexactly(length))
                answer = answers.pop(0)
                writer.write(answer)
                await writer.drain()
                if close_after or not answer:
                    break
            else:
                await asyncio.sleep(5)  # scripted answers done: hold the connection open, idle
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


def client() -> http1.Client:
    return http1.Client(http1.GuardedResolver(LOOPBACK), "test-agent")


def run(answers: list[bytes], posts: int = 1, close_after: bool = False, timeout: float = 2.0):
    async def go():
        server, port, seen = await serve(answers, close_after)
        c = client()
        try:
            results = []
            for _ in range(posts):
                try:
                    results.append(await c.post(f"http://127.0.0.1:{port}/hook?x=1", {"X-A": "1"}, b"{}",
                                                timeout))
                except Exception as exc:  # noqa: BLE001 - the test inspects it
                    results.append(exc)
            return results, seen
        finally:
            c.close()
            server.close()

    return asyncio.run(go())


def test_a_post_is_one_well_formed_request():
    (r,), seen = run([b"HTTP/1.1 204 No Content\r\n\r\n"])
    assert r.status == 204
    request = seen["requests"][0]
    assert request.startswith(b"POST /hook?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nX-A: 1\r\n" in request and b"Content-Length: 2\r\n" in request
    assert request.endswith(b"\r\n\r\n{}")


def test_chunked_and_close_delimited_bodies_are_read():
    (r,), _ = run([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"])
    assert (r.status, r.excerpt) == (200, b"abcde")
    (r,), _ = run([b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nbroken"], close_after=True)
    assert (r.status, r.excerpt) == (500, b"broken")


def test_keep_alive_connections_are_reused():
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    results, seen = run([ok, ok, ok], posts=3)
    assert [r.status for r in results] == [200, 200, 200]
    assert seen["connections"] == 1


def test_a_dropped_pooled_connection_is_retried_on_a_new_one():
    # The server answers the first request, then closes the kept-alive connection when the
    # second arrives on it: that delivery must go out again on a new connection, not fail.
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    results, seen = run([ok, b"", ok], posts=2)
    assert [r.status for r in results] == [200, 200]
    assert seen["connections"] == 2 and len(seen["requests"]) == 3


def test_headers_are_read_and_redirects_are_not_followed():
    (r,), seen = run([b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nRetry-After: 7\r\n"
                      b"Content-Length: 0\r\n\r\n"])
    assert r.status == 302 and r.headers["retry-after"] == "7"
    assert len(seen["requests"]) == 1


def test_an_oversize_body_is_cut_and_the_excerpt_bounded():
    body = b"x" * (http1.MAX_BODY * 2)
    (r,), _ = run([b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body])
    assert r.status == 200 and r.excerpt == b"x" * 1024


def test_malformed_responses_and_silence_are_errors():
    (r,), _ = run([b"HTTP/9 nonsense\r\n\r\n"])
    assert isinstance(r, ConnectionError)
    (r,), _ = run([b""])  # the server closes without answering
    assert isinstance(r, ConnectionError)
    (r,), _ = run([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"], timeout=0.3)
    assert isinstance(r, TimeoutError)


def test_urls_other_than_http_are_refused():
    with pytest.raises(ValueError, match="not an http"):
        http1.split("ftp://example.com/x")
    assert http1.split("https://例え.jp/a")[4] == "xn--r8jz45g.jp"
    assert http1.split("http://[::1]:8080/")[1:] == ("::1", 8080, "/", "[::1]:8080")


@pytest.mark.parametrize("url", ["https://example.com:0/h", "https://example.com:99999/h"])
def test_a_port_out_of_range_is_refused_not_defaulted(url):
    with pytest.raises(ValueError):
        http1.split(url)
