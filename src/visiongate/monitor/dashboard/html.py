"""HTML building with escaping by default: every value is escaped unless it is :class:`Safe`.

Pages are composed from small functions returning :class:`Safe` fragments. ``html(...)``
formats a template whose *arguments* are escaped (keys, labels, error messages and
anything else that came from users or executions), so forgetting to escape is not
possible by construction; only literal template text and other Safe fragments pass as is.
"""

from __future__ import annotations

import html as _html
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode


class Safe(str):
    """Text already safe to put in HTML."""

    __slots__ = ()


def esc(value: Any) -> Safe:
    """Escape anything for an HTML text node or a quoted attribute."""
    if isinstance(value, Safe):
        return value
    if value is None:
        return Safe("")
    return Safe(_html.escape(str(value), quote=True))


def _arg(value: Any) -> Any:
    # Numbers cannot carry markup and keep their format specs ({:.1f}); all else is escaped.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return esc(value)


def html(template: str, *args: Any, **kwargs: Any) -> Safe:
    """``template.format`` with every argument escaped (Safe arguments pass unchanged)."""
    return Safe(
        template.format(*(_arg(a) for a in args), **{k: _arg(v) for k, v in kwargs.items()})
    )


def join(parts: Iterable[Any], sep: str = "") -> Safe:
    return Safe(sep.join(esc(p) for p in parts))


def url(path: str, **params: Any) -> str:
    """A same-site URL with query parameters (None and "" are left out)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{path}?{query}" if query else path


def pretty_json(value: Any, max_string: int = 300) -> str:
    """Indented JSON for display, long strings (base64 images) shortened."""

    def shorten(item: Any) -> Any:
        if isinstance(item, str) and len(item) > max_string:
            return f"{item[:max_string]}… ({len(item):,} characters)"
        if isinstance(item, list):
            return [shorten(x) for x in item]
        if isinstance(item, dict):
            return {k: shorten(v) for k, v in item.items()}
        return item

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return shorten(value)
    return json.dumps(shorten(value), indent=2, ensure_ascii=False)


NAV = (
    ("/executions", "Executions"),
    ("/endpoint", "Endpoint"),
    ("/confidence", "Confidence"),
    ("/drift", "Drift"),
    ("/cost", "Cost"),
    ("/review", "Review"),
)


def layout(title: str, body: Safe, active: str = "", refresh: str | None = None) -> Safe:
    """The page shell: navigation, the stylesheet and script (same-origin files, CSP-friendly).

    ``refresh``: a URL whose HTML replaces the element ``#live`` every few seconds.
    """
    nav = join(
        html('<a href="{}"{}>{}</a>', href, Safe(' class="active"') if href == active else "", name)
        for href, name in NAV
    )
    live = html(' data-refresh="{}"', refresh) if refresh else Safe("")
    return html(
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{} · visiongate</title>"
        '<link rel="stylesheet" href="/static/app.css">'
        '<script src="/static/app.js" defer></script></head>'
        '<body{}><header><a class="brand" href="/executions">visiongate</a><nav>{}</nav></header>'
        "<main><h1>{}</h1>{}</main></body></html>",
        title,
        live,
        nav,
        title,
        body,
    )


def table(
    headers: Iterable[str],
    rows: Iterable[Iterable[Any]],
    tbody_id: str = "",
    empty: str = "Nothing yet.",
) -> Safe:
    headers = list(headers)
    head = join(html("<th>{}</th>", h) for h in headers)
    body = rows_html(rows, len(headers), empty)
    ident = html(' id="{}"', tbody_id) if tbody_id else Safe("")
    return html("<table><thead><tr>{}</tr></thead><tbody{}>{}</tbody></table>", head, ident, body)


def rows_html(rows: Iterable[Iterable[Any]], columns: int, empty: str = "Nothing yet.") -> Safe:
    out = [html("<tr>{}</tr>", join(html("<td>{}</td>", cell) for cell in row)) for row in rows]
    if not out:
        return html('<tr><td colspan="{}" class="empty">{}</td></tr>', columns, empty)
    return join(out)


def badge(status: str) -> Safe:
    return html('<span class="badge {}">{}</span>', status.lower(), status)


def notice(text: str, kind: str = "info") -> Safe:
    return html('<p class="notice {}">{}</p>', kind, text)
