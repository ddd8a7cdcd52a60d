"""Text and HTML renderings shared by the result objects of model selection."""

import html


def text_table(head, lines, tail=()):
    """``head``, then one ``name  value`` line per pair of ``lines``, aligned, then ``tail``."""
    width = max(len(name) for name, _ in lines)
    return "\n".join([head, *(f"  {name:<{width}}  {value}" for name, value in lines), *tail])


def html_rows(lines):
    """The ``(name, value)`` pairs of ``lines`` as escaped HTML table rows."""
    return "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"
        for name, value in lines
    )
