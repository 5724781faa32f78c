"""The console's catalogues: every message of the templates and pages is in both, and translated into Chinese."""

from importlib import resources

from babel.messages import pofile
from babel.messages.extract import extract_from_dir

CONSOLE = resources.files("target_ledger.console")
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def catalogue(language: str) -> dict[str, str]:
    with (CONSOLE / "locale" / language / "LC_MESSAGES" / "console.po").open("rb") as po:
        return {m.id: m.string for m in pofile.read_po(po) if m.id}


def test_every_message_the_console_shows_is_in_both_catalogues_and_translated_into_chinese() -> None:
    shown = {message for *_, message, _, _ in extract_from_dir(str(CONSOLE), METHODS, OPTIONS)}
    assert "Dashboard" in shown  # the extraction reads the templates
    english, chinese = catalogue("en"), catalogue("zh_CN")
    assert shown - set(english) == set(), "run pybabel extract and update (README: Web console)"
    assert shown - set(chinese) == set()
    assert [m for m in shown if not chinese[m]] == [], "messages without a Chinese translation"
