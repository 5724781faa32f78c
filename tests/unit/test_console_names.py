"""Every attainment status and alert rule the domain can return has its name on the console, in both languages."""

from typing import get_args

import pytest
from litestar import Request

from target_ledger.console import i18n
from target_ledger.console.names import RULE, STATUS
from target_ledger.console.web import environment
from target_ledger.domain.alert import RULES
from target_ledger.domain.attainment import Status


def _reader(language: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/", "query_string": f"lang={language}".encode(), "headers": []}
    )  # type: ignore[typeddict-item]


def _shown(macro: str, code: str, language: str) -> str:
    template = environment().from_string(
        f'{{% from "_ledger_names.html" import rule_name with context %}}'
        f'{{% from "standing.html" import status_label with context %}}{{{{ {macro}(code) }}}}'
    )
    return template.render(request=_reader(language), code=code).strip()


@pytest.mark.parametrize("status", get_args(Status))
def test_every_status_the_domain_returns_is_named_in_english_and_chinese(status: str) -> None:
    # "ahead" and "not_started" showed as a dash: the template named three of the five.
    english, chinese = _shown("status_label", status, "en"), _shown("status_label", status, "zh_CN")
    assert english == STATUS[status] and english != "—"  # type: ignore[index]
    assert chinese == i18n.translations("zh_CN").gettext(english) and chinese != english


@pytest.mark.parametrize("rule", RULES)
def test_every_alert_rule_is_named_in_english_and_chinese(rule: str) -> None:
    english, chinese = _shown("rule_name", rule, "en"), _shown("rule_name", rule, "zh_CN")
    assert english == RULE[rule] and chinese != english


def test_no_name_is_kept_for_a_code_the_domain_does_not_have() -> None:
    assert set(STATUS) == set(get_args(Status)) and set(RULE) == set(RULES)
