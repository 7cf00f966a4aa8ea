"""An SMTP server on 127.0.0.1 that misbehaves on purpose, speaking the protocol over real sockets.

aiosmtpd is a well-behaved server; the faults the delivery worker must survive are the ones a
real server shows on a bad day, so this one is written to show them:

- ``"silent"``: accepts the connection and never greets;
- ``"stall_after_data"``: takes the whole message, then never answers;
- ``"close_with_421"``: answers the first message with ``421`` and closes the connection, then
  behaves on the next connection;
- ``"ok"``: accepts every message (the ids it received are in ``received``);
- ``"pipelining_only"``: advertises ``PIPELINING`` and answers ``MAIL`` only once ``RCPT`` and
  ``DATA`` have arrived too, so a client that waits for each reply waits forever.

Every command line it reads is in ``commands``.

It advertises no SMTPUTF8, as many servers still do not.
"""

import email
import socket
import socketserver
import threading

from tests.mail_settings import smtp_settings


class FaultySMTPHandler(socketserver.StreamRequestHandler):
    timeout = 60

    def handle(self):
        server = self.server
        with server.lock:
            server.connections += 1
            connection_number = server.connections
        if server.mode == "silent":
            server.stop.wait()
            return
        self.reply("220 faulty.example ESMTP")
        while not server.stop.is_set():
            verb = self.read_command()
            if verb is None:
                return
            if verb in ("EHLO", "HELO"):
                extensions = "250-PIPELINING\r\n" if server.mode == "pipelining_only" else ""
                self.reply(f"250-faulty.example\r\n{extensions}250 8BITMIME")
            elif verb == "MAIL" and server.mode == "pipelining_only":
                if [self.read_command(), self.read_command()] != ["RCPT", "DATA"]:
                    return
                self.reply("250 OK\r\n250 OK\r\n354 End data with <CR><LF>.<CR><LF>")
                self.receive_message()
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                if not self.receive_message(connection_number):
                    return
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Not implemented")

    def read_command(self):
        """The verb of the next command line (``None`` once the client has gone)."""
        line = self.rfile.readline()
        if not line:
            return None
        with self.server.lock:
            self.server.commands.append(line)
        return line.decode("ascii", "replace").strip().split(" ")[0].upper()

    def receive_message(self, connection_number=0):
        """Reads a message after ``354`` and answers it as the mode says; ``False`` when the
        connection is done with."""
        server = self.server
        message = self.read_message()
        if server.mode == "stall_after_data":
            server.stalled.set()
            server.stop.wait()
            return False
        if server.mode == "close_with_421" and connection_number == 1:
            self.reply("421 faulty.example closing the channel")
            return False
        with server.lock:
            server.received.append(email.message_from_bytes(message)["Message-ID"])
        self.reply("250 Accepted")
        return True

    def read_message(self):
        lines = []
        while True:
            line = self.rfile.readline()
            if not line or line == b".\r\n":
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b"..") else line)

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()


class FaultySMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode):
        super().__init__(("127.0.0.1", 0), FaultySMTPHandler)
        self.mode = mode
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.stalled = threading.Event()
        self.connections = 0
        self.received = []
        self.commands = []
        self.port = self.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self.shutdown()
        self.server_close()

    def mail_settings(self, timeout=None):
        """The settings of a mailer sending here (MAILERS on Django 6.1, EMAIL_* before it)."""
        return smtp_settings(self.port, timeout=timeout)


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
