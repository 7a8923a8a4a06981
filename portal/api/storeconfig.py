"""Store configuration under the contract's names, saved through credit.update_settings."""

from __future__ import annotations

from .. import credit
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
REMINDERS = {"daysPrior": "reminder_days_before", "daysAfter": "reminder_days_after"}
FIELD = "notificationsSettings"


def _refuse(message: str) -> ApiError:
    return ApiError("invalid_setting", message, FIELD, status=400)


def _reminders(notifications: dict) -> dict:
    """daysPrior/daysAfter → day lists; their one shared timeOfDay → reminder_time."""
    changes, times = {}, set()
    for name, setting in REMINDERS.items():
        items = notifications.get(name)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _refuse(f"{name} must be a list of {{days, timeOfDay}} objects.")
        days = [item.get("days") for item in items]
        if not all(isinstance(d, int) and not isinstance(d, bool) for d in days):
            raise _refuse(f"{name}: days must be whole numbers.")
        changes[setting] = days
        for item in items:
            text = item.get("timeOfDay")
            if text is None:
                continue
            if not isinstance(text, str):
                raise _refuse("timeOfDay must be a time such as 12:00:00.")
            times.add(text[:5] if len(text) == 8 and text.endswith(":00") else text)
    if len(times) > 1:
        raise _refuse("All notifications are sent at one timeOfDay.")
    if times:
        changes["reminder_time"] = times.pop()
    return changes


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
    changes.update(_reminders(optional_object(data, FIELD)))
    settings = credit.update_settings(db.session, changes, actor())
    return reply(serializers.store_config(settings))
