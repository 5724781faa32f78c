"""The ledger's codes the console names in the reader's language: every attainment status and alert rule."""

from target_ledger.domain.attainment import Status


def N_(message: str) -> str:
    """Marks a message for the catalogue (pybabel extracts N_); the template translates it where shown."""
    return message


STATUS: dict[Status, str] = {
    "ahead": N_("Ahead"),
    "on_track": N_("On track"),
    "at_risk": N_("At risk"),
    "behind": N_("Behind"),
    "not_started": N_("Not started"),
}
# The seed documents' alert rules (weekly completion under 80 % two weeks running, the gap, the pace...).
RULE: dict[str, str] = {
    "weekly_completion": N_("Weekly completion low"),
    "week_gap": N_("Weekly gap"),
    "pace": N_("Behind pace"),
    "action_overdue": N_("Corrective action overdue"),
    "no_actuals": N_("No actuals recorded"),
    "follow_up_missed": N_("Follow-up missed"),
    "forecast": N_("Forecast below target"),
}
NAMES = {"status_names": STATUS, "rule_names": RULE}
"""What the templates see (environment globals)."""
