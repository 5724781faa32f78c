"""The console's languages: gettext catalogues read from the package's .po files, and locale formatting."""

import functools
import io
from datetime import date, datetime
from decimal import Decimal
from gettext import GNUTranslations
from importlib import resources
from typing import Any

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages import mofile, pofile
from babel.numbers import NumberPattern, parse_pattern
from jinja2 import pass_context
from litestar import Request

LANGUAGES = {"en": "English", "zh_CN": "中文"}  # catalogue name → the language's own name, for the switch
DEFAULT = "en"
COOKIE = "console_lang"


@functools.cache
def translations(language: str) -> GNUTranslations:
    """The catalogue compiled in memory from its .po file (no .mo file is committed or built)."""
    source = resources.files("target_ledger.console") / "locale" / language / "LC_MESSAGES" / "console.po"
    with source.open("rb") as po:
        catalog = pofile.read_po(po, locale=language)
    compiled = io.BytesIO()
    mofile.write_mo(compiled, catalog)
    compiled.seek(0)
    return GNUTranslations(compiled)


def language(request: Request) -> str:
    """`?lang=`, else the cookie the switch set, else the browser's Accept-Language, else English."""
    cached = request.scope.get("console_language")
    if cached:
        return str(cached)
    asked = request.query_params.get("lang") or request.cookies.get(COOKIE)
    chosen = _known(asked) if asked else None
    if chosen is None:
        accepted = [part.split(";")[0].strip() for part in request.headers.get("accept-language", "").split(",")]
        chosen = negotiate_locale([a.replace("-", "_") for a in accepted if a], list(LANGUAGES), sep="_")
        if chosen is None and any(a.lower().startswith("zh") for a in accepted):
            chosen = "zh_CN"  # any Chinese the browser asks for: the catalogue we have
    request.scope["console_language"] = chosen or DEFAULT  # type: ignore[typeddict-unknown-key]
    return chosen or DEFAULT


def _known(asked: str) -> str | None:
    name = asked.replace("-", "_")
    return next((lang for lang in LANGUAGES if lang.lower() == name.lower()), None)


def html_lang(language: str) -> str:
    """The BCP 47 tag for <html lang>: zh-CN, en."""
    return language.replace("_", "-")


@functools.cache
def locale_of(language: str) -> Locale:
    return Locale.parse(language)


@functools.cache
def pattern(form: str) -> NumberPattern:
    """babel's parsed number pattern: format_decimal and format_percent parse theirs on every call."""
    return parse_pattern(form)


@pass_context
def gettext(context: Any, message: str) -> str:
    return translations(language(context["request"])).gettext(message)


@pass_context
def ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return translations(language(context["request"])).ngettext(singular, plural, n)


def _locale(context: Any) -> str:
    return language(context["request"])


@pass_context
def number(context: Any, value: Decimal | int | None, places: int = 2) -> str:
    """A figure with the locale's separators, to the cent by default; a dash for none."""
    if value is None:
        return "—"
    return plain(value, places, _locale(context))


def plain(value: Decimal | int, places: int, language: str) -> str:
    """The number filter's text: as babel's format_decimal gives it with "#,##0.00" (`places` zeros) and
    no quantization (every place the figure has, at least `places`), by Python's own grouping where the
    locale groups with "," and marks decimals with "." (every console language): 2.3 µs a figure, babel's
    parsed pattern 7.9 µs, format_decimal 17 µs."""
    locale = locale_of(language)
    exact = value if isinstance(value, Decimal) else Decimal(str(value))  # as babel reads it
    if not exact.is_finite() or _symbols(locale) != (",", ".", "-"):
        form = "#,##0." + "0" * places if places else "#,##0"
        return pattern(form).apply(value, locale, decimal_quantization=False)
    shown = abs(exact).normalize()
    exponent = int(shown.as_tuple().exponent)
    return ("-" if exact.is_signed() else "") + f"{shown:,.{max(places, -exponent)}f}"


@functools.cache
def _symbols(locale: Locale) -> tuple[str, str, str]:
    symbols = locale.number_symbols["latn"]
    return symbols["group"], symbols["decimal"], symbols["minusSign"]


@pass_context
def percent(context: Any, value: Decimal | None) -> str:
    """A percentage already in percent (the API's `attainment_pct`: 85.25 → 85.25 %)."""
    if value is None:
        return "—"
    return pattern("#,##0.00%").apply(Decimal(value) / 100, locale_of(_locale(context)))


@pass_context
def day(context: Any, value: date | datetime | None, form: str = "medium") -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_datetime(value, format=form, locale=_locale(context))
    return format_date(value, format=form, locale=_locale(context))


FILTERS = {"number": number, "percent": percent, "day": day}
