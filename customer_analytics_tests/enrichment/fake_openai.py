"""A local server speaking the OpenAI Chat Completions protocol, scriptable to misbehave.

    with FakeOpenAI({"bong da": "Sports"}) as fake:
        fake.script(Reply.RATE_LIMITED, Reply.SERVER_ERROR)  # the next two requests fail
        ...  # point the client at fake.base_url with fake.api_key
        fake.requests  # every request received, with the keywords it carried

It answers the keywords of the user message (`{"keywords": [...]}`) with the category the test
gives for each (`Other` when none), whatever the label, so off-list labels are given that way.
"""

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

COMPLETIONS_PATH = "/v1/chat/completions"


class Reply(StrEnum):
    OK = "ok"
    RATE_LIMITED = "429"  # with Retry-After: 0
    QUOTA_EXCEEDED = "quota"  # a 429 that retrying cannot fix
    SERVER_ERROR = "500"
    UNAVAILABLE = "503"
    SLOW = "slow"  # answers after `slow_seconds`, meant to exceed the client's timeout
    MALFORMED = "malformed"  # message content that is not JSON
    OMIT = "omit"  # leaves the last keyword of the request out of the answer
    EXTRA = "extra"  # also answers about a keyword that was not asked
    UNAUTHORIZED = "401"  # given, not scripted, to a request without the right key


EXTRA_KEYWORD = "a keyword nobody asked about"


@dataclass(frozen=True)
class ReceivedRequest:
    keywords: list[str]  # parsed from the user message; empty when it is not our JSON
    body: dict
    reply: Reply
    prompt_tokens: int  # what the answer charged, 0 for an error
    completion_tokens: int

    @property
    def messages(self) -> list[dict]:
        return self.body["messages"]


class FakeOpenAI:
    def __init__(
        self,
        categories: Mapping[str, str] | Callable[[str], str] | None = None,
        *,
        api_key: str = "sk-fake-test-key",
        latency_seconds: float = 0.0,
        slow_seconds: float = 1.0,
    ):
        """`categories` labels each keyword; `latency_seconds` delays every answer, so that
        concurrent requests overlap."""
        if callable(categories):
            self._category = categories
        else:
            labels = categories or {}
            self._category = lambda keyword: labels.get(keyword, "Other")
        self.api_key = api_key
        self.latency_seconds = latency_seconds
        self.slow_seconds = slow_seconds
        self._lock = threading.Lock()
        self._script: list[tuple[Reply, str | None]] = []
        self._requests: list[ReceivedRequest] = []
        self._in_flight = 0
        self.max_in_flight = 0

    def script(self, *replies: Reply | str, keyword: str | None = None) -> None:
        """Replies for the next requests in order (then OK again), or, given `keyword`, for the
        next requests that carry that keyword."""
        with self._lock:
            self._script.extend((Reply(reply), keyword) for reply in replies)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def keywords_sent(self) -> list[list[str]]:
        return [request.keywords for request in self.requests]

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        # A short poll interval so that leaving the block does not wait half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _answer(self, path: str, authorization: str | None, raw: bytes) -> tuple[int, dict, dict]:
        """Status, extra headers and body of the answer to one request."""
        if path != COMPLETIONS_PATH:
            return 404, {}, _error(f"Unknown path {path}", "invalid_request_error", None)
        body = json.loads(raw)
        keywords = _keywords(body["messages"])
        if authorization == f"Bearer {self.api_key}":
            reply = self._next_reply(keywords)
        else:
            reply = Reply.UNAUTHORIZED
        content = None
        if reply in (Reply.OK, Reply.SLOW, Reply.MALFORMED, Reply.OMIT, Reply.EXTRA):
            content = self._content(reply, keywords)
        prompt_tokens = _tokens(json.dumps(body["messages"])) if content else 0
        completion_tokens = _tokens(content) if content else 0
        with self._lock:
            self._requests.append(
                ReceivedRequest(keywords, body, reply, prompt_tokens, completion_tokens)
            )

        time.sleep(self.slow_seconds if reply is Reply.SLOW else self.latency_seconds)
        if reply is Reply.UNAUTHORIZED:
            # Echoing the key, as the worst server would, checks that the client never shows it.
            received = (authorization or "").removeprefix("Bearer ")
            message = f"Incorrect API key provided: {received}."
            return 401, {}, _error(message, "invalid_request_error", "invalid_api_key")
        if reply is Reply.RATE_LIMITED:
            message = "Rate limit reached for requests"
            return 429, {"Retry-After": "0"}, _error(message, "requests", "rate_limit_exceeded")
        if reply is Reply.QUOTA_EXCEEDED:
            message = "You exceeded your current quota."
            return 429, {}, _error(message, "insufficient_quota", "insufficient_quota")
        if reply is Reply.SERVER_ERROR:
            message = "The server had an error while processing your request."
            return 500, {}, _error(message, "server_error", None)
        if reply is Reply.UNAVAILABLE:
            return 503, {}, _error("The server is overloaded.", "server_error", None)
        return 200, {}, _completion(body["model"], content, prompt_tokens, completion_tokens)

    def _next_reply(self, keywords: list[str]) -> Reply:
        with self._lock:
            for index, (reply, keyword) in enumerate(self._script):
                if keyword is None or keyword in keywords:
                    del self._script[index]
                    return reply
        return Reply.OK

    def _content(self, reply: Reply, keywords: list[str]) -> str:
        if reply is Reply.MALFORMED:
            return '{"classifications": [{"keyword": '
        if reply is Reply.OMIT:
            keywords = keywords[:-1]
        if reply is Reply.EXTRA:
            keywords = [*keywords, EXTRA_KEYWORD]
        answers = [{"keyword": k, "category": self._category(k)} for k in keywords]
        return json.dumps({"classifications": answers}, ensure_ascii=False)

    def _track(self, change: int) -> None:
        with self._lock:
            self._in_flight += change
            self.max_in_flight = max(self.max_in_flight, self._in_flight)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        fake: FakeOpenAI = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        # Counted until the answer is ready, not sent: a client that has its answer may start
        # the next request before this thread gets to run again.
        fake._track(+1)
        try:
            status, headers, body = fake._answer(self.path, self.headers["Authorization"], raw)
        finally:
            fake._track(-1)
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped waiting (a slow answer past its timeout)

    def log_message(self, format: str, *args: object) -> None:
        pass  # tests read `FakeOpenAI.requests`, not an access log on stderr


def _keywords(messages: list[dict]) -> list[str]:
    user = [message["content"] for message in messages if message["role"] == "user"]
    try:
        return list(json.loads(user[-1])["keywords"])
    except (IndexError, ValueError, TypeError, KeyError):
        return []


def _tokens(text: str) -> int:
    """Roughly what a tokenizer would count: a token per four characters."""
    return len(text) // 4 + 1


def _error(message: str, kind: str, code: str | None) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _completion(model: str, content: str, prompt_tokens: int, completion_tokens: int) -> dict:
    return {
        "id": f"chatcmpl-fake{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
