"""Rendering pages: the templates object and the context every page shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import markupsafe
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from urbanpulse import __version__, i18n
from urbanpulse.web.nav import NAV

TEMPLATES_DIR = Path(__file__).parent / "templates"


def build_templates() -> Jinja2Templates:
    """Templates from the package, with the filters pages use."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    templates = Jinja2Templates(env=env)
    # {{ _("Cities") }} and {% trans %} speak the request's language (urbanpulse.i18n);
    # newstyle: parameters are named and escaped, {{ _("%(n)s sites", n=3) }}.
    templates.env.install_gettext_callables(  # type: ignore[attr-defined]
        escape_unknown_gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    templates.env.policies["ext.i18n.trimmed"] = True
    # {{ tr(clock.note) }}: text a domain made with N_(...), in the reader's language.
    templates.env.globals["tr"] = i18n.translate_text
    templates.env.filters["thousands"] = lambda n: f"{int(n):,}" if n is not None else ""
    templates.env.filters["figure_json"] = get_figure_json
    return templates


def escape_unknown_gettext(message: str) -> str:
    """:func:`urbanpulse.i18n.gettext` for templates, where the result is taken as markup.

    The catalogue's own messages may hold markup (``<code>``, links); any other text,
    such as a unit or a kind read from data (``{{ _(m.unit) }}``), comes back escaped,
    so markup pushed into the lake is shown as text, never obeyed.
    """
    if message in i18n.get_message_ids():
        return i18n.gettext(message)
    return str(markupsafe.escape(message))


def get_figure_json(figure: dict[str, Any]) -> str:
    """A figure as JSON safe to place inside a ``<script>`` element."""
    # "</script>" in a name would end the element early, and "<!--" could keep it open
    # past its end; escaped as JSON's \u003c (as Django's json_script does), "<" can do
    # neither, and JSON.parse reads it back. ">" and "&" likewise.
    text = json.dumps(figure, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(
    request: Request,
    template: str,
    *,
    title: str,
    synthetic: bool = False,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page that extends ``base.html``.

    ``synthetic`` shows the "Synthetic demo data" banner: set it whenever any data on
    the page was generated rather than measured.
    """
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        template,
        {
            "title": title,
            # Links are built from the mount point, so the app also works under a prefix.
            "base": request.scope.get("root_path", ""),
            "synthetic": synthetic,
            "nav": NAV,
            "version": __version__,
            **get_language_context(request),
            **context,
        },
        status_code=status_code,
    )


def get_language_context(request: Request) -> dict[str, Any]:
    """What every page needs to speak the request's language: ``lang`` ('zh_CN' or
    'en'), ``html_lang`` for ``<html lang>``, the switch's links (same page, other
    query parameters kept) and the JSON catalogue of the page scripts' ``t()``."""
    locale = i18n.get_locale()
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    switch = [
        {
            "code": code,
            "name": name,
            "html_lang": i18n.get_html_lang(code),
            "url": request.url.path + "?" + urlencode([*query, ("lang", code)]),
            "current": code == locale,
        }
        for code, name in i18n.LANGUAGES
    ]
    return {
        "lang": locale,
        "html_lang": i18n.get_html_lang(locale),
        "languages": switch,
        "js_catalog": i18n.get_js_catalog(locale),
    }
