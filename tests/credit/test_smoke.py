from portal import credit


def test_open_and_buy(session, make_account, purchase):
    account = make_account(limit="1000")
    purchase(account, "300.00", term="30/60/90")
    assert account.balance == 700
    assert credit.find_breaches(session) == []
