"""Text parts encoded as ``set_content()`` encodes them, line by line, for texts that share lines.

The emails of one message differ in a line or two of their HTML (the greeting, the unsubscribe
link). ``email.contentmanager._encode_text()``, which ``set_content()`` (so Django's
``message()``) encodes a text part with, encodes the whole text each time: for a long-lined
HTML part, quoted-printable over every byte. Quoted-printable is line by line
(``email.quoprimime.body_encode()`` splits the text into lines and encodes each alone), so
``TextPartEncoder`` encodes each distinct line once and joins the lines of each text.

Private APIs of the standard library used here, pinned by tests/core/test_pinned.py (which holds the
two equal for any text, on every supported Python):

- ``email.contentmanager._encode_text()``: what ``encode()`` returns and, for every case but
  quoted-printable of long lines, what it calls: the choice among 7bit, 8bit,
  quoted-printable and base64 is its own (at most 78 bytes a line: 7bit or 8bit; else
  quoted-printable unless the first 10 lines are shorter in base64);
- ``email.quoprimime.body_encode()``: the encoding of each line.
"""

from email import quoprimime
from email.contentmanager import _encode_text

# _encode_text() decides between quoted-printable and base64 on this many first lines.
SNIFFED_LINES = 10


class TextPartEncoder:
    """Encodes texts as ``_encode_text(text, charset, None, policy)`` does, remembering the
    quoted-printable form of every line it has seen."""

    def __init__(self, charset, policy):
        self.charset = charset
        self.policy = policy
        self.linesep_length = len(policy.linesep)
        self.quoted_lines = {}

    def encode(self, text):
        """``(Content-Transfer-Encoding, payload)``, the payload with ``\\n`` line ends."""
        lines = text.encode(self.charset).splitlines()
        if max(map(len, lines), default=0) <= self.policy.max_line_length:
            # 7bit or 8bit: no encoding to save.
            return _encode_text(text, self.charset, None, self.policy)
        sniffed = lines[:SNIFFED_LINES]
        sniffed_quoted = self._quoted(sniffed)
        sniffed_length = sum(map(len, sniffed)) + self.linesep_length * len(sniffed)
        if len(sniffed_quoted) > base64_length(sniffed_length):
            return _encode_text(text, self.charset, None, self.policy)
        if len(lines) <= SNIFFED_LINES:
            return "quoted-printable", sniffed_quoted
        return "quoted-printable", self._quoted(lines)

    def _quoted(self, lines):
        known = self.quoted_lines
        return "\n".join([known[line] if line in known else self._quote(line) for line in lines]) + "\n"

    def _quote(self, line):
        quoted = quoprimime.body_encode(line.decode("latin-1"), self.policy.max_line_length)
        self.quoted_lines[line] = quoted
        return quoted


def base64_length(size):
    """The length of ``binascii.b2a_base64()`` of ``size`` bytes: 4 per 3, and a newline."""
    return 4 * -(-size // 3) + 1
