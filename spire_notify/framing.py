"""The package's pages refuse to be framed by any site, whatever the project's middleware.

The inbox and the pages of apps built on it change state with one click on a button (a POST),
so a hostile page that framed them invisibly could borrow a click (clickjacking). Django's
``XFrameOptionsMiddleware`` would answer that, but a project may leave it out, so each view
sends ``X-Frame-Options: DENY`` itself. Not a CSP ``frame-ancestors``: a view's own
``Content-Security-Policy`` header would stand in for the project's whole policy.
"""

from django.views.decorators.clickjacking import xframe_options_deny


def deny_framing(view):
    """Decorate ``view`` so that its responses say ``X-Frame-Options: DENY``.

    Apply it outermost, so redirects to the login page carry it too. A response that already
    sets the header keeps it: a view that means to be framed says so. For a class-based view,
    decorate what ``as_view()`` returns.
    """
    return xframe_options_deny(view)
