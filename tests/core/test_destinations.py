"""Which addresses users' URLs may reach, in every spelling a resolver takes; the checks of the
settings that bound them; and the masking of their secrets in text."""

import ipaddress
import socket

from django.core.checks import Tags, run_checks
from django.test import SimpleTestCase, override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from spire_notify.destinations import RefusedDestination, connections_checked, host_refusal, url_refusal
from spire_notify.masking import HIDDEN, SHORTEST_SECRET_PART, redact
from tests.support.local_http import RecordingServer

# The IPv4 networks a user's URL may not reach, and the kind each is reported as.
INTERNAL_IPV4 = {
    "127.0.0.0/8": "loopback",
    "10.0.0.0/8": "private",
    "172.16.0.0/12": "private",
    "192.168.0.0/16": "private",
    "169.254.0.0/16": "link-local",
    "100.64.0.0/10": "non-global",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
}
INTERNAL_IPV6 = {
    "::1/128": "loopback",
    "fc00::/7": "private",
    "fe80::/10": "link-local",
    "ff00::/8": "multicast",
}


def addresses_in(networks):
    """An address of one of ``networks`` (CIDR → kind), with the kind it is reported as."""
    return st.sampled_from(sorted(networks.items())).flatmap(
        lambda item: st.integers(0, ipaddress.ip_network(item[0]).num_addresses - 1).map(
            lambda offset: (ipaddress.ip_network(item[0])[offset], item[1])
        )
    )


def public(address):
    return address.is_global and not address.is_multicast


def ipv4_spellings(address):
    """What resolvers take for ``address``: dotted, one integer, hex, octal, and the IPv6 forms
    that carry it (IPv4-mapped, NAT64, 6to4)."""
    number, octets = int(address), address.packed
    return [
        str(address),
        str(number),
        hex(number),
        ".".join(f"0{octet:o}" for octet in octets),
        f"::ffff:{address}",
        f"64:ff9b::{address}",
        f"2002:{octets[0]:02x}{octets[1]:02x}:{octets[2]:02x}{octets[3]:02x}::1",
    ]


# The resolver answers numeric hosts without the network, but two shared cores make its time vary.
RESOLVING = settings(deadline=None)


@override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS=[])
class AddressClassifierTests(SimpleTestCase):
    @RESOLVING
    @given(addresses_in(INTERNAL_IPV4))
    def test_every_spelling_of_an_internal_ipv4_address_is_refused(self, example):
        address, kind = example
        for spelling in ipv4_spellings(address):
            self.assertRegex(host_refusal(spelling), rf"\b{address}\)?, an? {kind} address$")

    @RESOLVING
    @given(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(public))
    def test_every_spelling_of_a_public_ipv4_address_is_allowed(self, address):
        for spelling in ipv4_spellings(address):
            self.assertIsNone(host_refusal(spelling), spelling)

    @RESOLVING
    @given(addresses_in(INTERNAL_IPV6))
    def test_internal_ipv6_addresses_are_refused(self, example):
        address, kind = example
        self.assertEqual(host_refusal(str(address)), f"{address}, a {kind} address")

    @RESOLVING
    @given(st.integers(0x2000 << 112, (0x4000 << 112) - 1).map(ipaddress.IPv6Address).filter(public))
    def test_public_ipv6_addresses_are_allowed(self, address):
        # 6to4 and NAT64 addresses are judged by the IPv4 address they carry, tested above.
        if address.sixtofour is None:
            self.assertIsNone(host_refusal(str(address)))

    def test_a_url_whose_host_cannot_be_read_is_refused(self):
        self.assertEqual(url_refusal("ntfys://[::1/topic"), "a host that cannot be read")
        self.assertEqual(url_refusal("ntfys://[::1]/topic"), "::1, a loopback address")

    def test_names_are_judged_by_every_address_they_resolve_to(self):
        self.assertEqual(host_refusal("localhost"), "127.0.0.1, a loopback address")
        self.assertEqual(host_refusal("0"), "0.0.0.0, an unspecified address")
        self.assertIsNone(host_refusal("no-such-host.invalid"))

    @override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS=["10.20.0.0/16", "fd00:1::/64"])
    def test_the_networks_a_project_allows_are_allowed_and_only_those(self):
        self.assertIsNone(host_refusal("10.20.3.4"))
        self.assertIsNone(host_refusal("::ffff:10.20.3.4"))
        self.assertIsNone(host_refusal("fd00:1::9"))
        self.assertEqual(host_refusal("10.21.0.1"), "10.21.0.1, a private address")
        self.assertEqual(host_refusal("fd00:2::9"), "fd00:2::9, a private address")

    def test_a_connection_to_an_internal_address_is_refused_before_it_is_made(self):
        with RecordingServer() as internal_host:
            host, port = internal_host.origin.rsplit(":", 1)
            with connections_checked() as refusals, self.assertRaises(RefusedDestination) as raised:
                socket.create_connection((host, int(port)), timeout=2)
            # Outside the block, connections are nobody's business of this module.
            socket.create_connection((host, int(port)), timeout=2).close()

        self.assertEqual(str(raised.exception), "refused a connection to 127.0.0.1, a loopback address")
        self.assertEqual(refusals, ["127.0.0.1, a loopback address"])
        self.assertEqual(internal_host.received, [])


class SettingsCheckTests(SimpleTestCase):
    def ids_and_messages(self, prefix):
        # The core checks the networks; the Apprise and Web Push channels check their own settings,
        # in the order their apps registered them: sorted, as that order is no part of the check.
        return sorted(
            (error.id, error.msg) for error in run_checks(tags=[Tags.security]) if error.id.startswith(prefix)
        )

    @override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS=["10.0.0.0/8", "10.0.0.0/33", "lan", 7])
    def test_malformed_private_networks_are_named(self):
        self.assertEqual(
            self.ids_and_messages("spire_notify.E090"),
            [
                (
                    "spire_notify.E090",
                    f"NOTIFY_ALLOWED_PRIVATE_NETWORKS: {entry!r} is not a network in CIDR notation.",
                )
                for entry in ("10.0.0.0/33", "lan", 7)
            ],
        )

    @override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS="10.0.0.0/8")
    def test_a_bare_string_of_networks_is_named(self):
        self.assertEqual(
            self.ids_and_messages("spire_notify.E090"),
            [
                (
                    "spire_notify.E090",
                    "NOTIFY_ALLOWED_PRIVATE_NETWORKS: '10.0.0.0/8' is not a network in CIDR notation.",
                )
            ],
        )

    @override_settings(NOTIFY_APPRISE_USER_SCHEMES="ntfy")
    def test_user_schemes_must_be_a_list(self):
        self.assertEqual(
            self.ids_and_messages("spire_notify.E091"),
            [
                (
                    "spire_notify.E091",
                    "NOTIFY_APPRISE_USER_SCHEMES must be a list of lower-case Apprise schemes, not 'ntfy'.",
                )
            ],
        )

    @override_settings(NOTIFY_MAX_APPRISE_ADDRESSES=0, NOTIFY_MAX_PUSH_SUBSCRIPTIONS="20")
    def test_caps_must_be_positive_whole_numbers(self):
        self.assertEqual(
            self.ids_and_messages("spire_notify.E092"),
            [
                ("spire_notify.E092", "NOTIFY_MAX_APPRISE_ADDRESSES must be a positive whole number, not 0."),
                (
                    "spire_notify.E092",
                    "NOTIFY_MAX_PUSH_SUBSCRIPTIONS must be a positive whole number, not '20'.",
                ),
            ],
        )

    def test_the_defaults_pass(self):
        self.assertEqual(self.ids_and_messages("spire_notify.E09"), [])


SECRET = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=SHORTEST_SECRET_PART, max_size=30
)


class RedactTests(SimpleTestCase):
    @given(topic=SECRET, token=SECRET, around=st.text(max_size=40))
    def test_no_part_of_a_url_survives_in_text_that_quotes_it(self, topic, token, around):
        url = f"json://hooks.example.net/{topic}?+Authorization=Bearer%20{token}"
        text = f"{around} {url} topic {topic!r}; header Bearer {token} {around}"

        redacted = redact(text, [url])

        self.assertNotIn(topic, redacted)
        self.assertNotIn(token, redacted)
        self.assertIn(f"json://{HIDDEN}", redacted)
