"""Store configuration under the contract's names."""

from decimal import Decimal

import pytest

from portal import credit

from .conftest import error_code

CONTRACT_FIELDS = {
    "dailyInterestRate",
    "invoicePostponementLimit",
    "taxRate",
    "maxPostponementDays",
    "defaultCreditValue",
    "postponementEnabled",
    "automaticCheckingAccountCreationEnabled",
    "toleranceEnabled",
    "myCreditsEnabled",
    "maxPreAuthorizationGrowthRate",
    "notificationsSettings",
}


def test_get_store_config(api):
    body = api.get("/storeconfig").get_json()
    assert set(body) == CONTRACT_FIELDS
    assert body["notificationsSettings"]["daysPrior"][0] == {"days": 5, "timeOfDay": "12:00:00"}


def test_put_store_config_maps_every_field(api, session, fresh):
    response = api.put(
        "/storeconfig",
        json={
            "dailyInterestRate": 0.01,
            "invoicePostponementLimit": 3,
            "taxRate": 0.02,
            "maxPostponementDays": 15,
            "defaultCreditValue": 150,
            "postponementEnabled": True,
            "automaticCheckingAccountCreationEnabled": True,
            "toleranceEnabled": True,
            "myCreditsEnabled": False,
            "maxPreAuthorizationGrowthRate": 0.2,
            "notificationsSettings": {
                "daysPrior": [{"days": 2, "timeOfDay": "09:30:00"}],
                "daysAfter": [
                    {"days": 1, "timeOfDay": "09:30:00"},
                    {"days": 7, "timeOfDay": "09:30:00"},
                ],
            },
            "someoneElsesField": "ignored",
        },
    )
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert (body["taxRate"], body["defaultCreditValue"], body["invoicePostponementLimit"]) == (
        0.02,
        150,
        3,
    )
    fresh()
    settings = credit.get_settings(session)
    assert (
        settings.daily_interest_rate,
        settings.late_fee_rate,
        settings.postponement_limit,
        settings.max_postponement_days,
        settings.default_credit_value,
        settings.max_pre_authorization_growth_rate,
    ) == (Decimal("0.01"), Decimal("0.02"), 3, 15, Decimal("150.00"), Decimal("0.2"))
    assert (
        settings.postponement_enabled,
        settings.automatic_account_creation,
        settings.tolerance_enabled,
        settings.my_credits_enabled,
    ) == (True, True, True, False)
    assert settings.reminder_rules == [
        {"when": "before", "days": 2, "time": "09:30"},
        {"when": "after", "days": 1, "time": "09:30"},
        {"when": "after", "days": 7, "time": "09:30"},
    ]


def test_put_keeps_what_is_not_sent(api):
    api.put("/storeconfig", json={"taxRate": 0.1})
    body = api.put("/storeconfig", json={"dailyInterestRate": 0.001}).get_json()
    assert (body["taxRate"], body["dailyInterestRate"]) == (0.1, 0.001)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"taxRate": -1}, "invalid_rate"),
        ({"postponementEnabled": "yes"}, "invalid_setting"),
        ({"maxPostponementDays": 1.5}, "invalid_setting"),
        ({"defaultCreditValue": "lots"}, "invalid_amount"),
        ({"notificationsSettings": {"daysPrior": 3}}, "invalid_setting"),
        (
            {"notificationsSettings": {"daysPrior": [{"days": "x", "timeOfDay": "12:00:00"}]}},
            "invalid_setting",
        ),
        (
            {"notificationsSettings": {"daysPrior": [{"days": 1, "timeOfDay": "8 am"}]}},
            "invalid_setting",
        ),
        (
            {"notificationsSettings": {"daysPrior": [{"days": 1, "timeOfDay": "08:00:30"}]}},
            "invalid_setting",
        ),
        (
            {"notificationsSettings": {"daysPrior": [{"days": 1, "timeOfDay": "24:00:00"}]}},
            "invalid_setting",
        ),
        (
            {"notificationsSettings": {"daysAfter": [{"days": 366, "timeOfDay": "08:00:00"}]}},
            "invalid_setting",
        ),
        (
            {
                "notificationsSettings": {
                    "daysPrior": [
                        {"days": 1, "timeOfDay": "08:00:00"},
                        {"days": 1, "timeOfDay": "09:00:00"},
                    ]
                }
            },
            "invalid_setting",
        ),
        (
            {
                "notificationsSettings": {
                    "daysAfter": [{"days": d, "timeOfDay": "08:00:00"} for d in range(11)]
                }
            },
            "invalid_setting",
        ),
    ],
)
def test_put_refuses_bad_values_and_saves_nothing(api, change, code):
    before = api.get("/storeconfig").get_json()
    response = api.put("/storeconfig", json={"taxRate": 0.3, **change})
    assert (response.status_code, error_code(response)) == (400, code)
    assert api.get("/storeconfig").get_json() == before


def test_every_notification_keeps_its_own_time_of_day(api, session, fresh):
    sent = {
        "daysPrior": [{"days": 1, "timeOfDay": "16:00:00"}, {"days": 5, "timeOfDay": "08:15:00"}],
        "daysAfter": [{"days": 0, "timeOfDay": "12:00:00"}, {"days": 3, "timeOfDay": "23:30:00"}],
    }
    response = api.put("/storeconfig", json={"notificationsSettings": sent})
    assert response.status_code == 200, response.data
    expected = {
        "daysPrior": [{"days": 5, "timeOfDay": "08:15:00"}, {"days": 1, "timeOfDay": "16:00:00"}],
        "daysAfter": sent["daysAfter"],
    }
    assert response.get_json()["notificationsSettings"] == expected
    assert api.get("/storeconfig").get_json()["notificationsSettings"] == expected
    fresh()
    assert credit.get_settings(session).reminder_rules == [
        {"when": "before", "days": 5, "time": "08:15"},
        {"when": "before", "days": 1, "time": "16:00"},
        {"when": "after", "days": 0, "time": "12:00"},
        {"when": "after", "days": 3, "time": "23:30"},
    ]


def test_a_side_not_sent_keeps_its_rules_and_a_missing_time_its_time(api):
    api.put(
        "/storeconfig",
        json={
            "notificationsSettings": {
                "daysPrior": [{"days": 2, "timeOfDay": "07:00:00"}],
                "daysAfter": [{"days": 4, "timeOfDay": "18:45:00"}],
            }
        },
    )
    body = api.put(
        "/storeconfig", json={"notificationsSettings": {"daysPrior": [{"days": 2}, {"days": 9}]}}
    ).get_json()
    assert body["notificationsSettings"] == {
        "daysPrior": [{"days": 9, "timeOfDay": "12:00:00"}, {"days": 2, "timeOfDay": "07:00:00"}],
        "daysAfter": [{"days": 4, "timeOfDay": "18:45:00"}],
    }
    cleared = api.put("/storeconfig", json={"notificationsSettings": {"daysAfter": []}})
    assert cleared.get_json()["notificationsSettings"]["daysAfter"] == []


def test_a_refused_rule_names_the_contract_field(api):
    response = api.put(
        "/storeconfig",
        json={"notificationsSettings": {"daysPrior": [{"days": 400, "timeOfDay": "08:00"}]}},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "notificationsSettings"
