"""A Jinja2 environment that translates: ``{% trans %}`` and ``_()`` with Django's catalogues.

Point a Jinja2 ``TEMPLATES`` entry's ``OPTIONS["environment"]`` here, or do what
``install_translations`` does in a project's own environment. The callables are Django's, so
the language active at render time (``translation.override()``) applies; ``get_language()``
gives the email's ``<html lang>``.
"""

from django.utils.translation import get_language, gettext, ngettext
from jinja2 import Environment


def environment(**options):
    extensions = [*options.pop("extensions", []), "jinja2.ext.i18n"]
    return install_translations(Environment(extensions=extensions, **options))


def install_translations(env):
    """Give ``env`` (which has the ``jinja2.ext.i18n`` extension) Django's translations."""
    # newstyle: translated strings are autoescaped and take keyword placeholders.
    env.install_gettext_callables(gettext, ngettext, newstyle=True)
    env.globals["get_language"] = get_language
    return env
