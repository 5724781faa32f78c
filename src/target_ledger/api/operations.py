"""The document's words for each operation: its name, and a request body that works as sent."""

from typing import Any

# A person's name for every operation: what a generated client's functions are called.
OPERATIONS = {
    ("POST", "/v1/org/units"): "create_unit",
    ("POST", "/v1/org/people"): "add_person",
    ("POST", "/v1/org/people/{person}/move"): "move_person",
    ("POST", "/v1/org/people/{person}/leave"): "person_leaves",
    ("POST", "/v1/org/units/{unit}/manager"): "assign_manager",
    ("GET", "/v1/org/tree"): "read_org_tree",
    ("GET", "/v1/org/nodes/{node}"): "read_org_node",
    ("GET", "/v1/org/people"): "list_people",
    ("GET", "/v1/org/units"): "list_units",
    ("POST", "/v1/metrics"): "define_metric",
    ("GET", "/v1/metrics"): "list_metrics",
    ("POST", "/v1/dimensions"): "define_dimension",
    ("GET", "/v1/dimensions"): "list_dimensions",
    ("POST", "/v1/targets"): "set_target",
    ("GET", "/v1/targets"): "list_targets",
    ("GET", "/v1/targets/{target_id}"): "read_target",
    ("GET", "/v1/targets/{target_id}/explain"): "explain_target",
    ("POST", "/v1/targets/{target_id}/acknowledgement"): "acknowledge_target",
    ("POST", "/v1/targets/{target_id}/dispute"): "dispute_target",
    ("POST", "/v1/targets/{target_id}/decomposition"): "split_target",
    ("GET", "/v1/targets/{target_id}/decomposition"): "read_decomposition",
    ("GET", "/v1/targets/{target_id}/decomposition/export"): "export_decomposition",
    ("GET", "/v1/targets/{target_id}/history"): "read_target_history",
    ("POST", "/v1/actuals"): "record_actual",
    ("GET", "/v1/actuals"): "list_actuals",
    ("POST", "/v1/actuals/batch"): "record_actuals",
    ("POST", "/v1/actuals/{actual_id}/reversal"): "reverse_actual",
    ("POST", "/v1/actuals/{actual_id}/correction"): "correct_actual",
    ("GET", "/v1/attainment"): "read_attainment",
    ("GET", "/v1/attainment/leaderboard"): "read_leaderboard",
    ("GET", "/v1/attainment/export"): "export_attainment",
    ("GET", "/v1/attainment/leaderboard/export"): "export_leaderboard",
    ("POST", "/v1/targets/{target_id}/adjustments"): "request_adjustment",
    ("GET", "/v1/adjustments"): "list_adjustments",
    ("GET", "/v1/adjustments/{adjustment_id}"): "read_adjustment",
    ("POST", "/v1/adjustments/{adjustment_id}/approve"): "approve_adjustment",
    ("POST", "/v1/adjustments/{adjustment_id}/reject"): "reject_adjustment",
    ("POST", "/v1/adjustments/{adjustment_id}/withdraw"): "withdraw_adjustment",
    ("GET", "/v1/audit"): "search_audit",
    ("GET", "/v1/events"): "read_event_log",
    ("POST", "/v1/plans/import"): "import_plan",
    ("GET", "/v1/feed"): "read_feed",
    ("GET", "/v1/feed/stream"): "stream_feed",
    ("GET", "/v1/feed/schemas"): "read_feed_schemas",
    ("POST", "/v1/webhooks"): "register_webhook",
    ("GET", "/v1/webhooks"): "list_webhooks",
    ("GET", "/v1/webhooks/{webhook_id}"): "read_webhook",
    ("DELETE", "/v1/webhooks/{webhook_id}"): "remove_webhook",
    ("POST", "/v1/webhooks/{webhook_id}/replay"): "replay_webhook",
    ("POST", "/v1/webhooks/{webhook_id}/resume"): "resume_webhook",
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): "list_webhook_deliveries",
    ("POST", "/v1/corrective-actions"): "open_corrective_action",
    ("GET", "/v1/corrective-actions"): "search_corrective_actions",
    ("GET", "/v1/corrective-actions/{action_id}"): "read_corrective_action",
    ("POST", "/v1/corrective-actions/{action_id}/progress"): "note_corrective_action_progress",
    ("POST", "/v1/corrective-actions/{action_id}/completion"): "complete_corrective_action",
    ("POST", "/v1/corrective-actions/{action_id}/cancellation"): "cancel_corrective_action",
    ("GET", "/v1/alerts"): "list_alerts",
    ("POST", "/v1/alerts/{alert_id}/acknowledgement"): "acknowledge_alert",
    ("GET", "/v1/alert-rules"): "list_alert_rules",
    ("PUT", "/v1/alert-rules/{rule}"): "refine_alert_rule",
    ("PUT", "/v1/targets/{target_id}/follow-up-plan"): "plan_follow_ups",
    ("POST", "/v1/targets/{target_id}/follow-ups"): "report_follow_up",
    ("GET", "/v1/periods"): "list_period_closures",
    ("POST", "/v1/periods/{period}/close"): "close_period",
    ("POST", "/v1/periods/{period}/reopen"): "request_period_reopen",
    ("POST", "/v1/periods/{period}/reopen/approval"): "approve_period_reopen",
    ("POST", "/v1/reviews"): "record_review",
    ("GET", "/v1/reviews/{period}"): "read_review",
    ("GET", "/v1/reviews/{period}/export"): "export_review",
    ("GET", "/health/live"): "check_live",
    ("GET", "/health/ready"): "check_ready",
}
# The operations answering only files (api/exports.py): JSON is their read's, without `/export`.
EXPORTS = {"export_decomposition", "export_attainment", "export_leaderboard", "export_review"}

# Request bodies that work as sent, in the order of the introduction's walk-through (acme → east → rep1);
# an id in a body stands for the one an earlier answer gave.
EXAMPLES: dict[str, dict[str, Any]] = {
    "create_unit": {"node": "east", "kind": "region", "name": "East", "parent": "acme"},
    "add_person": {"person": "rep1", "name": "Rita Rep", "unit": "east", "effective": "2026-01-01"},
    "assign_manager": {"manager": "rep1", "effective": "2026-01-01"},
    "move_person": {"to_unit": "east", "effective": "2026-07-01"},
    "person_leaves": {"effective": "2026-12-31"},
    "define_metric": {"name": "new_logos", "unit": "count"},
    "define_dimension": {"name": "segment", "values": ["new", "existing"]},
    "set_target": {"node": "east", "metric": "revenue", "period": "2026-Q3", "value": "1200000.00"},
    "split_target": {"axis": "period", "method": "even", "into": "month"},
    "acknowledge_target": {"comment": "agreed"},
    "dispute_target": {"comment": "the pipeline does not support this"},
    "record_actual": {"person": "rep1", "metric": "revenue", "date": "2026-07-15", "value": "25000.00"},
    "record_actuals": {"items": [{"person": "rep1", "metric": "revenue", "date": "2026-07-16", "value": "1800.00"}]},
    "reverse_actual": {"reason": "entered twice"},
    "correct_actual": {"value": "2500.00", "reason": "a digit too many"},
    "request_adjustment": {
        "reason_category": "market_change",
        "justification": "a key customer went bankrupt",
        "new_value": "1000000.00",
    },
    "reject_adjustment": {"reason": "the loss is covered by the pipeline"},
    "withdraw_adjustment": {"reason": "asked too early"},
    "close_period": {"node": "east"},
    "request_period_reopen": {"node": "east", "reason": "late actuals from the CRM"},
    "approve_period_reopen": {"node": "east"},
    "record_review": {"period": "2026-Q3", "node": "east", "summary": "Two deals slipped into Q4."},
    "register_webhook": {"url": "https://crm.example/hooks"},
    "report_follow_up": {"note": "three proposals out, one signed"},
    "plan_follow_ups": {"cadence": "weekly", "reporter": "rep1", "supervisor": "east-boss"},
    "refine_alert_rule": {"node": "east", "metric": "revenue", "enabled": True, "weeks": 2},
    "acknowledge_alert": {"comment": "on it"},
    "open_corrective_action": {
        "target_id": "5f0c6c57-2d3b-5a6e-9a43-1f0d6c1b2a10",  # the id set_target answered
        "causes": [{"kind": "objective", "factor": "market", "description": "a key customer went bankrupt"}],
        "plan": "two extra demos a week with the new segment",
        "owner": "rep1",
        "due": "2026-08-31",
    },
    "note_corrective_action_progress": {"note": "the first two demos are done"},
    "complete_corrective_action": {"outcome": "the pipeline is back to plan"},
    "cancel_corrective_action": {"reason": "the target was adjusted instead"},
}

# Operations whose body is a file, not JSON (the handler reads it raw, so litestar declares none). The
# ledger reads the bytes, not the Content-Type (a zip is a workbook, anything else CSV text): the body is
# declared as the one media type every generator sends a file as, and the description says what it holds.
_BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_BODIES: dict[str, dict[str, Any]] = {
    "import_plan": {
        "required": True,
        "description": "the plan file itself: an .xlsx workbook or a UTF-8 CSV, sent as it is (any Content-Type: "
        "application/octet-stream, text/csv or the xlsx one)",
        "content": {"application/octet-stream": _BINARY},
    },
}

# Operations that take If-Match with the version of the target (or, deciding one, the adjustment
# request) the path names, and answer 412 when it is at another: application/preconditions.py.
CONDITIONAL = {
    "acknowledge_target",
    "dispute_target",
    "split_target",
    "request_adjustment",
    "approve_adjustment",
    "reject_adjustment",
    "withdraw_adjustment",
}
# Operations whose answer carries the version of the target, request or action it shows as an ETag.
TAGGED = CONDITIONAL | {
    "set_target",
    "read_target",
    "explain_target",
    "read_adjustment",
    "open_corrective_action",
    "read_corrective_action",
    "note_corrective_action_progress",
    "complete_corrective_action",
    "cancel_corrective_action",
}
# Operations whose JSON answer says, in X-Read-Position, the read model's position it was read at.
READ_POSITIONED = {"read_attainment", "read_leaderboard", "read_decomposition"}
# Operations whose 201 says, in Location, where what they made is read.
LOCATED = {"set_target", "create_unit", "add_person"}
