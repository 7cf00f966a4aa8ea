"""Premailer whose CSS parser never fetches anything.

``allow_network=False`` only skips ``<link>`` stylesheets: cssutils still follows every
``@import`` of a ``<style>`` block, over HTTP or from the working directory. Premailer has no
option for the parser it builds, so this overrides its private ``Premailer._parse_css_string``
(pinned by tests/core/test_pinned.py), the one place it parses CSS.
"""

import functools

import cssutils
from premailer import Premailer


class OfflinePremailer(Premailer):
    def _parse_css_string(self, css_body, validate=True):
        return _parse_css_offline(css_body, validate)


@functools.lru_cache(maxsize=256)
def _parse_css_offline(css_body, validate):
    # Cached like premailer's own parse: the layout's CSS is the same for every email.
    return cssutils.CSSParser(fetcher=_imports_are_empty, validate=validate).parseString(css_body)


def _imports_are_empty(url):
    # The @import stays in the HTML for a client that loads it; its rules are not inlined.
    return None, ""
