"""Which SMTP replies mean "you send too fast" rather than "this message failed".

A relay that throttles answers 421 (and closes the connection), or a 450/451/452/454 whose text
says why: "4.7.0 Rate limit exceeded", "Too many messages, slow down", "Throttling failure".
The same codes also mean a full mailbox or a greylisting, which are the message's own temporary
failures: only their text tells the two apart, so the words are what we read.
"""

import re

# 421: the service is not available now and closes the channel, whatever the text says.
ALWAYS_THROTTLING = {421}
# Codes that are throttling only when their text says so.
THROTTLING_WHEN_SAID = {450, 451, 452, 454}
THROTTLING_WORDS = re.compile(r"rate|limit|too many|throttl", re.IGNORECASE)


def is_throttling(code, text):
    """Whether an SMTP reply ``code`` with ``text`` asks the sender to slow down."""
    if code in ALWAYS_THROTTLING:
        return True
    return code in THROTTLING_WHEN_SAID and bool(THROTTLING_WORDS.search(text))
