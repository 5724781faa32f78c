"""The web console at /console/: server-rendered pages over the same application functions as the API."""

from importlib import resources
from typing import Any

from litestar import Request, Response, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.params import FromPath
from litestar.response import Redirect

from target_ledger.api.deps import command_for
from target_ledger.application import Command
from target_ledger.config import Settings
from target_ledger.console import (  # each page module lists its handlers in PAGES: one line here per module
    answers,
    dashboard,
    me,
    oidc,
    pages_alerts,
    pages_audit,
    pages_inbox,
    pages_review,
    pages_target,
    web,
)
from target_ledger.console.session import CSRF_COOKIE, SecureCsrf, SessionCookies, derived_key, provide_principal
from target_ledger.console.signin import sign_in, sign_in_page, sign_out
from target_ledger.domain.access import Principal

CSS = (resources.files("target_ledger.console") / "static" / "console.css").read_bytes()


def provide_command(request: Request, state: State, principal: NamedDependency[Principal]) -> Command:
    """The application's command, by whoever is signed in (pages ask for `command`, as API handlers do)."""
    return command_for(request, state, principal)


@get("/static/console.css", sync_to_thread=False, cache_control=None)
def stylesheet() -> Response[bytes]:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@get("/", sync_to_thread=False)
def home() -> Redirect:
    return Redirect("/console/dashboard", status_code=303)


@get("/{rest:path}", sync_to_thread=False)
def unknown(rest: FromPath[str]) -> None:
    raise NotFoundException(f"no console page at /console{rest}")


def router(settings: Settings, pages: list[Any] | None = None) -> Router:
    """The console's routes, each behind its session cookie and CSRF check (the JSON API needs neither)."""
    secret = settings.secret()
    csrf = CSRFConfig(
        secret=derived_key(secret, b"csrf").hex(),
        cookie_name=CSRF_COOKIE,
        cookie_path="/console",
        cookie_httponly=True,
        cookie_samesite="lax",
    )
    handlers = [
        stylesheet,
        home,
        sign_in_page,
        sign_in,
        sign_out,
        answers.problem_page,
        *dashboard.PAGES,
        *me.PAGES,
        *oidc.PAGES,
        *pages_inbox.PAGES,
        *pages_target.PAGES,
        *pages_alerts.PAGES,
        *pages_review.PAGES,
        *pages_audit.PAGES,
    ]
    return Router(
        path="/console",
        route_handlers=[*handlers, *(pages or []), unknown],
        middleware=[DefineMiddleware(SessionCookies, secret=secret), DefineMiddleware(SecureCsrf, config=csrf)],
        dependencies={
            "principal": Provide(provide_principal, sync_to_thread=False),
            "command": Provide(provide_command, sync_to_thread=False),
        },
        exception_handlers=web.HANDLERS,
        include_in_schema=False,
    )


template_config = web.template_config
ConsoleAnswers = answers.ConsoleAnswers
