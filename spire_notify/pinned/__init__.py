"""Code that leans on private APIs of Django, Jinja2 and premailer: one module per API, each
named in its docstring and pinned on every supported Django by tests/core/test_pinned.py."""
