"""Rendering named blocks of a Jinja2 template, through the parent templates it extends.

Private Jinja2 APIs used here, pinned by tests/core/test_pinned.py:

- ``Template.root_render_func`` and ``Template.new_context()``: running the root render
  function is what makes ``{% extends %}`` add the parents' blocks to the context;
- ``Context.blocks``: ``{name: [render function, …]}``, the child's override first.

Django's Jinja2 backend wraps the Jinja2 template as ``.template``.
"""


def render_jinja2_blocks(template, context, names):
    """``{name: rendered text}`` of the blocks ``names`` of a Django-wrapped Jinja2 template;
    a block the chain does not define renders as ``""``."""
    jinja_template = template.template
    jinja_context = jinja_template.new_context(dict(context))
    for _ in jinja_template.root_render_func(jinja_context):
        pass
    return {
        name: "".join(jinja_context.blocks[name][0](jinja_context)) if name in jinja_context.blocks else ""
        for name in names
    }
