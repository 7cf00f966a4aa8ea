"""``Channel``: one channel of a Notifier, with when and whether it delivers."""

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import timedelta

from spire_notify.deferred import Deferred

READ = "read"


@dataclass(frozen=True)
class Channel:
    """A channel a Notifier sends on: ``alias`` is a ``NOTIFY_BACKENDS`` alias.

    - ``template``: the template that channel renders (email's ``template``).
    - ``wait``: a ``timedelta`` that delays that channel's delivery.
    - ``unless``: ``"read"`` skips the delayed row if the recipient read the in-app notification
      of the same message by then (escalation: it needs ``wait``); a callable
      ``unless(notification) -> bool`` is asked by the worker at delivery time, with the
      ``Notification`` row, and skips the row when it answers true.
    """

    alias: str
    _: KW_ONLY
    template: str | None = None
    wait: timedelta | None = None
    unless: str | Callable | None = None

    def __post_init__(self):
        if not isinstance(self.alias, str) or not self.alias:
            raise TypeError(f"Channel({self.alias!r}): the alias must be a NOTIFY_BACKENDS alias (a string).")
        if self.wait is not None and (not isinstance(self.wait, timedelta) or self.wait < timedelta(0)):
            raise ValueError(
                f"Channel({self.alias!r}): wait must be a timedelta of zero or more, not {self.wait!r}."
            )
        if isinstance(self.unless, str) and self.unless != READ:
            raise ValueError(
                f'Channel({self.alias!r}): unless={self.unless!r} is neither "read" nor a callable.'
            )
        if self.unless is not None and not isinstance(self.unless, str) and not callable(self.unless):
            raise TypeError(
                f'Channel({self.alias!r}): unless must be "read" or a callable, not {self.unless!r}.'
            )
        if self.unless == READ and not self.wait:
            raise ValueError(
                f'Channel({self.alias!r}): unless="read" skips the row if the recipient read the '
                "in-app notification first, so it needs a wait=timedelta(...) to give them the time."
            )

    @property
    def condition(self):
        """The callable of ``unless``, or ``None``."""
        return self.unless if callable(self.unless) else None

    @property
    def delivers_later(self):
        """Whether a worker must decide at delivery time: a delay or a condition."""
        return bool(self.wait) or self.unless is not None

    def entry(self):
        """What ``notify()`` takes for this channel: the alias, or a ``Deferred`` for a delay."""
        if not self.wait:
            return self.alias
        return Deferred(self.alias, self.wait, unless_read=self.unless == READ)
