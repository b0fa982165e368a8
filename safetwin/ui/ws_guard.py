"""An ASGI middleware that makes a closed browser tab end its Bokeh session.

The Panel pages are served through ``bokeh-fastapi``, whose WebSocket loop reads with Starlette's
``WebSocket.receive()``: a browser that goes away arrives there as a ``websocket.disconnect``
*message*, which the loop skips; its next read then fails, the failure is swallowed, and the
connection is never reported lost. The session therefore never counts as unused, never expires,
and its periodic callbacks go on sending to the closed socket for as long as the server runs —
each send a ``RuntimeError`` traceback and a "Failed sending message" warning.

:class:`WebSocketDisconnectGuard` sits in front of the UI's WebSocket routes and

* turns the disconnect message into the ``WebSocketDisconnect`` exception the loop handles (it
  then reports the connection lost, and the session expires as designed), then ends the loop, and
* drops what the server still sends after the disconnect (a send racing the close), instead of
  letting the ASGI server raise.

Example::

    app.add_middleware(WebSocketDisconnectGuard, prefix="/ui")
"""
from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

__all__ = ["WebSocketDisconnectGuard"]


class WebSocketDisconnectGuard:
    """ASGI middleware for the WebSockets under ``prefix`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, prefix: str = "/ui") -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        #: sends dropped after a disconnect (for tests and diagnostics)
        self.dropped_sends = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not scope.get("path", "").startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        closed = False
        after_close = 0
        code, reason = 1000, None

        async def guarded_receive() -> Message:
            # After the disconnect the loop re-reads the message of its previous round when it
            # catches the exception, so it is first handed an empty message (which it skips), then
            # the exception (it reports the connection lost and skips the empty message again), then
            # an error that ends it (it swallows errors).
            nonlocal closed, after_close, code, reason
            if not closed:
                message = await receive()
                if message["type"] != "websocket.disconnect":
                    return message
                closed, code, reason = True, message.get("code", 1000), message.get("reason")
            after_close += 1
            if after_close == 1:
                return {"type": "websocket.receive"}
            if after_close == 2:
                raise WebSocketDisconnect(code, reason)
            raise RuntimeError("the WebSocket is closed")

        async def guarded_send(message: Message) -> Any:
            nonlocal closed
            if closed and message["type"] in ("websocket.send", "websocket.close"):
                self.dropped_sends += 1
                return None
            try:
                return await send(message)
            except RuntimeError:   # the ASGI server's "send after close": the browser left meanwhile
                if message["type"] != "websocket.send":
                    raise
                closed = True
                self.dropped_sends += 1
                return None

        await self.app(scope, guarded_receive, guarded_send)
