"""Which network destinations the URLs users supply may reach.

A signed-in user types an Apprise URL or a browser posts a push endpoint; the worker then sends
requests there, from inside the network it runs in. Left alone, that is server-side request
forgery: ``json://127.0.0.1:8000/admin/delete?method=DELETE`` or
``form://169.254.169.254/latest/meta-data/`` makes the worker call an internal service with the
site's network position. So a user's URL may reach public (globally routable, unicast)
addresses only, unless the project lists a network in ``NOTIFY_ALLOWED_PRIVATE_NETWORKS``
(a self-hosted ntfy on the LAN).

It is checked twice. When the URL is saved, its host is resolved and every address must be
allowed (literal addresses in any spelling the resolver takes, ``2130706433`` or ``0x7f.1``,
resolve to themselves). When sending, a name may resolve elsewhere (DNS rebinding, a record
changed since), and a service may redirect: inside ``connections_checked()``, every socket
connect of the calling context, and of the threads Apprise starts from it, is checked against
the address it is about to connect to, through a Python audit hook (PEP 578), before any packet
leaves. That is the one place that sees the addresses Apprise's plugins connect to: they call
``requests`` themselves, with no session to hand them.

The classification is the standard library's (``ipaddress``: ``is_global``, ``is_multicast``…,
kept to the IANA special-purpose registries); this module only unwraps the IPv6 forms that carry
an IPv4 address (IPv4-mapped, NAT64, 6to4), which a dual-stack host or a gateway connects to.
"""

import contextlib
import contextvars
import ipaddress
import socket
import sys
from functools import cache
from urllib.parse import urlsplit

from spire_notify import conf

# The well-known NAT64 prefix (RFC 6052): 64:ff9b::a.b.c.d reaches a.b.c.d through a gateway.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")

_checking = contextvars.ContextVar("spire_notify_checking_connections", default=None)


class RefusedDestination(Exception):
    """A user's URL would reach an address it may not: a permanent failure of that one target."""


def allowed_private_networks():
    """``NOTIFY_ALLOWED_PRIVATE_NETWORKS`` as networks (check E090 reports malformed entries)."""
    return [
        ipaddress.ip_network(entry, strict=False) for entry in conf.get("NOTIFY_ALLOWED_PRIVATE_NETWORKS")
    ]


def embedded_ipv4(address):
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64, 6to4), or ``None``."""
    if address.version != 6:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def kind_of(address):
    """Why ``address`` is not one a user's URL may reach, or ``None`` when it is public."""
    for name, flag in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("site-local", address.version == 6 and address.is_site_local),
    ):
        if flag:
            return name
    return None if address.is_global else "non-global"


def address_refusal(text):
    """Why a user's URL may not reach the address ``text``, or ``None`` when it may."""
    address = ipaddress.ip_address(text)
    target = embedded_ipv4(address) or address
    if any(target in network or address in network for network in allowed_private_networks()):
        return None
    kind = kind_of(target)
    if kind is None:
        return None
    shown = f"{address} ({target})" if target != address else str(address)
    article = "an" if kind[0] in "aeiou" else "a"
    return f"{shown}, {article} {kind} address"


def resolve(host, port=None):
    """Every address ``host`` resolves to; none when it does not resolve (now)."""
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return sorted({sockaddr[0] for *_, sockaddr in found})


def host_refusal(host, port=None):
    """Why ``host`` may not be reached: the first of its addresses that may not, or ``None``.

    A name that does not resolve is not refused here: nothing can be sent to it either, and the
    check at connect time sees whatever it resolves to later."""
    return next(filter(None, (address_refusal(address) for address in resolve(host, port))), None)


def url_refusal(url):
    """Why the host of ``url`` may not be reached, or ``None``."""
    try:
        host = urlsplit(url).hostname
    except ValueError:  # "[::1": a bracket left open
        return "a host that cannot be read"
    return host_refusal(host) if host else None


@contextlib.contextmanager
def connections_checked():
    """Refuse, with ``RefusedDestination``, every connect made in this block to an address a
    user's URL may not reach; the refusals made are in the list it yields."""
    install_audit_hook()
    refusals = []
    token = _checking.set(refusals)
    try:
        yield refusals
    finally:
        _checking.reset(token)


def check_connect(event, args):
    """The audit hook: runs for every audited event of the process, so it returns at once
    unless a socket is connecting inside ``connections_checked()``."""
    if event != "socket.connect":
        return
    refusals = _checking.get()
    address = args[1]
    if refusals is None or not isinstance(address, tuple):
        return
    # Usually a numeric address (requests resolves first); a name given to connect() directly
    # is resolved here, as the socket is about to.
    reason = host_refusal(address[0], address[1])
    if reason:
        refusals.append(reason)
        # The caller's clean-up runs for OSError only: this socket would be left open.
        args[0].close()
        raise RefusedDestination(f"refused a connection to {reason}")


@cache
def install_audit_hook():
    """Audit hooks cannot be removed, so it is added once, on first use."""
    sys.addaudithook(check_connect)
