"""The demo's SMTP catcher: every message the site sends lands as a .eml file in a folder."""

import email
import email.policy
import time
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToFolder:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def start_catcher(folder, port):
    controller = Controller(SaveToFolder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def read_messages(folder):
    """The caught messages, newest first, parsed."""
    paths = sorted(Path(folder).glob("*.eml"), reverse=True)
    return [(path.stem, _parse(path)) for path in paths]


def read_message(folder, name):
    path = Path(folder) / f"{name}.eml"
    return _parse(path) if name.isdigit() and path.is_file() else None


def _parse(path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def parts(message):
    """``(text, html)`` of a caught message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (text.get_content() if text else "", html.get_content() if html else "")
