"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


class Gate:
    """Holds one message in DATA: `held` is set when it arrives, and the server accepts it only
    after release() (other connections are served meanwhile)."""

    def __init__(self):
        self.held = threading.Event()
        self.released = threading.Event()

    def release(self) -> None:
        self.released.set()


class _Handler:
    def __init__(self, box: list[Received], lock: threading.Lock, gates: list[Gate]):
        self.box = box
        self.lock = lock
        self.gates = gates

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        # Like a real server, refuse mailboxes that do not exist (for permanent-failure tests).
        if address.endswith("@rejected.invalid"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if any(address.endswith("@hangup.invalid") for address in envelope.rcpt_tos):
            # Like a server shutting down: refuse for now and close the connection.
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 Service shutting down, closing connection"
        with self.lock:
            gate = self.gates.pop(0) if self.gates else None
        if gate is not None:
            gate.held.set()
            await asyncio.get_running_loop().run_in_executor(None, gate.released.wait, 60)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.box.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    """Start, stop and start again on the same port, as a mail server that goes down would."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[Received] = []
        self._gates: list[Gate] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            handler = _Handler(self.messages, self._lock, self._gates)
            self._controller = Controller(handler, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            for gate in self._gates:
                gate.release()
            self._gates.clear()

    def hold_next(self) -> Gate:
        """Hold the next message that arrives until the returned gate is released."""
        gate = Gate()
        with self._lock:
            self._gates.append(gate)
        return gate

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]
