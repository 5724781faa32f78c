"""What every console page shares: the template response with its common context, and the error pages."""

from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Request, Response
from litestar.exceptions import PermissionDeniedException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig
from markupsafe import Markup

from target_ledger.api import errors as api_errors
from target_ledger.console import i18n, names
from target_ledger.console.session import SIGN_IN, SignedOut, current_principal, is_secure

PROBLEM = "target_ledger.console_problem"  # the scope's key for a problem shown as a page (answers.py)


class CsrfInput(Markup):
    """The form's hidden CSRF field: written `{{ csrf_input() }}` (or `{{ csrf_input }}`)."""

    def __call__(self) -> "CsrfInput":
        return self


def environment() -> Environment:
    """Templates from the package (so a wheel has them), autoescaped, with gettext from the request's language."""
    env = Environment(
        loader=PackageLoader("target_ledger.console", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,  # a name a page forgot to pass fails the page's test, not shows as blank
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(i18n.FILTERS)
    env.globals.update(names.NAMES)
    return env


def template_config() -> TemplateConfig:
    return TemplateConfig(instance=JinjaTemplateEngine(engine_instance=environment()))


class Page(Template):
    """A console page: its template with who is signed in, the language, the CSRF field and the nav."""

    def __init__(self, template_name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> None:
        super().__init__(
            template_name=template_name, context=context or {}, status_code=status_code, media_type=MediaType.HTML
        )

    def create_template_context(self, request: Request) -> dict[str, Any]:
        context = super().create_template_context(request)
        language = i18n.language(request)
        settings = request.app.state.settings
        return {
            "principal": current_principal(request),
            "lang": language,
            "html_lang": i18n.html_lang(language),
            "languages": i18n.LANGUAGES,
            # The same page in each language (its query kept: the dashboard stays on its node and period).
            "language_links": _language_links(request),
            # Set by the OpenID Connect sign-in when an issuer is configured (TL_OIDC_ISSUER).
            "oidc_enabled": bool(getattr(settings, "oidc_issuer", None)),
            "errors": {},
            **context,
            "csrf_input": CsrfInput(context["csrf_input"]),
        }

    def to_asgi_response(self, app: Any, request: Request, **kwargs: Any) -> Any:
        asked = request.query_params.get("lang")
        if asked and i18n.language(request) == asked.replace("-", "_"):  # `?lang=` switches the pages that follow
            language, secure = i18n.language(request), is_secure(request)  # Secure as every console cookie
            self.set_cookie(i18n.COOKIE, language, path="/console", samesite="lax", httponly=True, secure=secure)
        return super().to_asgi_response(app, request, **kwargs)


def _language_links(request: Request) -> dict[str, str]:
    """The same page in each language (its query kept: the dashboard stays on its node and period);
    an error page shown for another address (answers.py) links to that address."""
    shown_for = request.scope.get(PROBLEM)  # type: ignore[call-overload]
    if isinstance(shown_for, dict):
        return {code: f"{quote(shown_for['path'])}?{urlencode({'lang': code})}" for code in i18n.LANGUAGES}
    query = dict(request.query_params)
    return {code: f"{request.url.path}?{urlencode({**query, 'lang': code})}" for code in i18n.LANGUAGES}


def error_page(status: int, title: str, detail: str) -> Page:
    return Page("error.html", {"status": status, "title": title, "detail": detail}, status_code=status)


def _signed_out(request: Request, exc: Exception) -> Response[Any]:
    """To the sign-in page, which comes back here (the same page and query) once signed in."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"{SIGN_IN}?{urlencode({'next': here})}", status_code=303)


def _as_page(request: Request, exc: Exception) -> Response[Any]:
    """The API's answer to the error (api/errors.py decides the status and the words, once), as a page."""
    handler: Any = next(api_errors.HANDLERS[c] for c in type(exc).__mro__ if c in api_errors.HANDLERS)
    answer = handler(request, exc)
    body = answer.content if isinstance(answer.content, dict) else {}
    detail = str(body.get("detail", ""))
    if isinstance(exc, PermissionDeniedException) and "CSRF" in detail:
        detail = "csrf"  # the page explains it in the reader's language
    return error_page(answer.status_code, str(body.get("title", "")), detail)


HANDLERS: dict[int | type[Exception], Any] = {SignedOut: _signed_out, **dict.fromkeys(api_errors.HANDLERS, _as_page)}
