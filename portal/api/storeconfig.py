"""Store configuration under the contract's names, saved through credit.update_settings."""

from __future__ import annotations

import re

from .. import credit
from ..credit.errors import InvalidInput
from ..extensions import db
from . import bp, serializers
from .auth import actor, require_scope
from .errors import ApiError
from .payload import body, bounded, optional_object, reply

FIELDS = {
    "dailyInterestRate": "daily_interest_rate",
    "invoicePostponementLimit": "postponement_limit",
    "taxRate": "late_fee_rate",
    "maxPostponementDays": "max_postponement_days",
    "defaultCreditValue": "default_credit_value",
    "maxPreAuthorizationGrowthRate": "max_pre_authorization_growth_rate",
    "myCreditsEnabled": "my_credits_enabled",
    "toleranceEnabled": "tolerance_enabled",
    "automaticCheckingAccountCreationEnabled": "automatic_account_creation",
    "postponementEnabled": "postponement_enabled",
}
REMINDERS = {"daysPrior": "before", "daysAfter": "after"}
FIELD = "notificationsSettings"
_TIME_OF_DAY = re.compile(r"([0-9]{2}:[0-9]{2})(:00)?", re.ASCII)


def _refuse(message: str) -> ApiError:
    return ApiError("invalid_setting", message, FIELD, status=400)


def _time(text) -> str:
    """A timeOfDay ("16:00:00" or "16:00") as the store keeps it: "16:00" (the engine
    checks the hour and minute). Reminders go out on the minute: seconds must be 00."""
    match = _TIME_OF_DAY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise _refuse("timeOfDay must be a time such as 16:00:00.")
    return match.group(1)


def _reminders(notifications: dict, current: list[dict]) -> dict:
    """daysPrior/daysAfter → the store's reminder rules, each item with its own timeOfDay.

    A list that is sent replaces the rules of its side (before / after the due date); one
    that is not sent keeps them. An item without timeOfDay keeps the time its rule had
    (12:00 for a new one).
    """
    if not any(notifications.get(name) is not None for name in REMINDERS):
        return {}
    had = {(rule["when"], rule["days"]): rule["time"] for rule in current}
    rules = []
    for name, when in REMINDERS.items():
        items = notifications.get(name)
        if items is None:
            rules += [rule for rule in current if rule["when"] == when]
            continue
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _refuse(f"{name} must be a list of {{days, timeOfDay}} objects.")
        for item in items:
            days = item.get("days")
            if not isinstance(days, int) or isinstance(days, bool):
                raise _refuse(f"{name}: days must be whole numbers.")
            text = item.get("timeOfDay")
            time = had.get((when, days), "12:00") if text is None else _time(text)
            rules.append({"when": when, "days": days, "time": time})
    return {"reminder_rules": rules}


@bp.get("/creditcontrol/storeconfig")
@require_scope("storeconfig:read")
def get_store_config():
    """The store's credit settings."""
    return reply(serializers.store_config(credit.get_settings(db.session)))


@bp.put("/creditcontrol/storeconfig")
@require_scope("storeconfig:write")
def put_store_config():
    """Change the settings that are sent; the others keep their values."""
    data = body()
    changes = {FIELDS[name]: bounded(value, name) for name, value in data.items() if name in FIELDS}
    current = credit.get_settings(db.session).reminder_rules or []
    changes.update(_reminders(optional_object(data, FIELD), current))
    try:
        settings = credit.update_settings(db.session, changes, actor())
    except InvalidInput as error:
        if (error.field or "").startswith("reminder_rules"):  # the engine's name for it
            error.field = FIELD
        raise
    return reply(serializers.store_config(settings))
