"""A minimal ASGI SMS gateway for bench/notify_fanout.py: accepts one message or {"messages": [...]}, counts them
(deduplicated on message_id) and answers GET /stats."""

from __future__ import annotations

import json

seen: set[str] = set()
stats = {"requests": 0, "messages": 0, "repeats": 0}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        event = await receive()
        body += event.get("body", b"")
        if not event.get("more_body"):
            break
    if scope["method"] == "GET":
        out = json.dumps(stats).encode()
    else:
        data = json.loads(body or b"{}")
        stats["requests"] += 1
        for item in data.get("messages", [data]):
            key = item.get("message_id")
            if key in seen:
                stats["repeats"] += 1
            else:
                seen.add(key)
                stats["messages"] += 1
        out = b'{"code":"OK"}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]})
    await send({"type": "http.response.body", "body": out})
