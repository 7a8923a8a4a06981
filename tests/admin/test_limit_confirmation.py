"""A limit or tolerance change shows old → new before it is saved, with warnings in words."""

from decimal import Decimal

from portal import credit


def _post(client, account, path, **data):
    response = client.post(f"/admin/accounts/{account.id}/{path}", data=data)
    return response.status_code, response.get_data(as_text=True)


def test_a_typo_is_shown_with_a_warning_and_saves_nothing(
    client, login, session, make_account, purchase
):
    account = make_account(limit="5000")
    purchase(account, "2300")
    login("owner")
    status, page = _post(client, account, "limit", credit_limit="1.50", reason="typo")
    assert status == 200
    panel = page.split('id="confirm-change"')[1].split("</section>")[0]
    assert "R$5,000.00" in panel and "R$1.50" in panel
    assert "below what the account already uses (R$2,300.00" in panel
    assert credit.get_account(session, account.id).credit_limit == Decimal("5000.00")
    status, page = _post(
        client, account, "limit", credit_limit="1.50", reason="typo", confirmed="yes"
    )
    assert status == 302
    session.expire_all()
    assert credit.get_account(session, account.id).credit_limit == Decimal("1.50")


def test_ten_times_the_limit_is_warned_and_portuguese_amounts_round_trip(
    client, login, session, make_account
):
    account = make_account(limit="1000")
    login("owner")
    headers = {"Accept-Language": "pt-BR"}
    response = client.post(
        f"/admin/accounts/{account.id}/limit",
        data={"credit_limit": "10.000,01", "reason": "big customer"},
        headers=headers,
    )
    panel = response.get_data(as_text=True).split('id="confirm-change"')[1].split("</section>")[0]
    assert 'name="credit_limit" value="10000,01"' in panel  # what the parser reads back
    assert "dez vezes o atual" in panel  # "more than ten times", in the page's Portuguese
    confirmed = client.post(
        f"/admin/accounts/{account.id}/limit",
        data={"credit_limit": "10000,01", "reason": "big customer", "confirmed": "yes"},
        headers=headers,
    )
    assert confirmed.status_code == 302
    session.expire_all()
    assert credit.get_account(session, account.id).credit_limit == Decimal("10000.01")


def test_tolerance_change_is_confirmed_too(client, login, session, make_account):
    account = make_account(limit="1000", tolerance="0.1")
    login("owner")
    _status, page = _post(client, account, "tolerance", tolerance="25", reason="season")
    panel = page.split('id="confirm-change"')[1].split("</section>")[0]
    assert "10.0%" in panel and "25.0%" in panel
    assert credit.get_account(session, account.id).tolerance == Decimal("0.1")
    _post(client, account, "tolerance", tolerance="25", reason="season", confirmed="yes")
    session.expire_all()
    assert credit.get_account(session, account.id).tolerance == Decimal("0.25")


def test_bad_amounts_are_refused_before_any_confirmation(client, login, session, make_account):
    account = make_account(limit="1000")
    login("owner")
    status, page = _post(client, account, "limit", credit_limit="1,5", reason="x")
    assert status == 422 and "confirm-change" not in page
    assert "use a point for decimals" in page
