"""The users page (owner only): staff and customer tabs, search and paging, new logins
with an invitation instead of a password, and no way to lock yourself (or the store) out."""

import re
import threading
import time

import pytest
from sqlalchemy import func, select

from portal import credit, people
from portal.credit.errors import Conflict
from portal.extensions import db
from portal.models import AuditEvent, OutboxMessage, User

from ..conftest import ROLE_PASSWORD


def _page(response) -> str:
    return response.get_data(as_text=True)


def _fresh(session, user_id: int) -> User:
    session.rollback()  # a new transaction: what the requests committed
    return session.get(User, user_id)


def _changes(session) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user.change")
    )


# --- new logins ----------------------------------------------------------------------------


def test_the_new_login_role_has_no_default(client, login, session):
    login("owner")
    page = _page(client.get("/admin/users"))
    select_html = page.split('id="new-role"')[1].split("</select>")[0]
    options = re.findall(r'<option value="([^"]*)"\s*(selected)?', select_html)
    assert options[0] == ("", "selected")  # the placeholder is what a new form shows
    assert [value for value, chosen in options if chosen] == [""]
    assert "Choose a role…" in select_html
    users_before = session.scalar(select(func.count()).select_from(User))
    refused = client.post("/admin/users", data={"email": "new@store.example", "role": ""})
    assert refused.status_code == 422
    assert "Choose a role for the new login." in _page(refused)
    assert 'value="new@store.example"' in _page(refused)  # what was typed stays
    missing = client.post("/admin/users", data={"email": "new@store.example"})
    assert missing.status_code == 422 and "Choose a role" in _page(missing)
    assert session.scalar(select(func.count()).select_from(User)) == users_before


def test_a_staff_login_without_password_is_invited_and_no_link_is_shown(client, login, session):
    login("owner")
    created = client.post(
        "/admin/users",
        data={"email": "New.Finance@Store.example", "name": "Nina", "role": "finance"},
    )
    assert created.status_code == 302
    assert created.location == "/admin/users?tab=staff&q=new.finance@store.example"
    page = _page(client.get(created.location))
    assert "the invitation to new.finance@store.example waits in the outbox" in page
    assert "/invite/" not in page and "/set-password" not in page  # never a link on a page
    assert "no password yet" in page and "Nina" in page
    session.rollback()
    [message] = session.scalars(select(OutboxMessage)).all()
    assert (message.topic, message.recipient) == ("invitation", "new.finance@store.example")
    user = session.scalar(select(User).where(User.email == "new.finance@store.example"))
    assert (user.role, user.name, user.password_hash) == ("finance", "Nina", None)


def test_creation_refusals_are_shown_on_their_field(client, login, make_user):
    login("owner")
    taken = make_user("support")
    duplicate = client.post("/admin/users", data={"email": taken.email, "role": "finance"})
    assert duplicate.status_code == 422
    assert f"{taken.email} already has a login." in _page(duplicate)
    weak = client.post(
        "/admin/users", data={"email": "x@store.example", "role": "owner", "password": "short"}
    )
    assert weak.status_code == 422 and "at least 12 characters" in _page(weak)
    assert 'id="new-password-error"' in _page(weak)
    stranger = client.post("/admin/users", data={"email": "nobody@example.com", "role": "customer"})
    assert stranger.status_code == 422 and "is not a holder of any account" in _page(stranger)


def test_the_cli_prints_an_invitation_link_for_a_staff_login(runner, session):
    result = runner.invoke(args=["users", "invite", "Ops@Store.example", "--role", "finance"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("http://127.0.0.1:5000/invite/")
    session.rollback()
    user = session.scalar(select(User).where(User.email == "ops@store.example"))
    assert user.role == "finance" and user.password_hash is None


# --- nobody locks themselves out -------------------------------------------------------------


def test_the_engine_refuses_deactivating_or_demoting_yourself(session, make_user):
    me, other = make_user("owner"), make_user("owner")
    before = _changes(session)
    with pytest.raises(Conflict) as deactivate:
        people.change_user(session, me.id, actor=me.email, acting_user_id=me.id, active=False)
    assert deactivate.value.code == "own_login"
    assert "You cannot deactivate your own login; ask another owner." in deactivate.value.message
    for role in ("finance", "support", "customer"):
        with pytest.raises(Conflict) as demote:
            people.change_user(session, me.id, actor=me.email, acting_user_id=me.id, role=role)
        assert demote.value.code == "own_role"
    fresh = _fresh(session, me.id)
    assert (fresh.role, fresh.active, fresh.session_version) == ("owner", True, 0)
    assert _changes(session) == before
    # What changes nothing is no refusal; another owner may do it.
    people.change_user(session, me.id, actor=me.email, acting_user_id=me.id, role="owner")
    people.change_user(session, me.id, actor=other.email, acting_user_id=other.id, active=False)
    assert not _fresh(session, me.id).active


def test_the_page_refuses_it_too_and_offers_no_control_on_your_own_row(
    client, login, session, make_user
):
    me = login("owner")
    other = make_user("owner", email="ana@store.example")
    page = _page(client.get("/admin/users"))
    assert f'action="/admin/users/{other.id}"' in page
    assert f'action="/admin/users/{me.id}"' not in page  # no role menu, no deactivate button
    assert "your login" in page
    for data, message in (
        ({"active": "off"}, "You cannot deactivate your own login; ask another owner."),
        ({"role": "finance"}, "You cannot change your own role; ask another owner."),
    ):
        answer = client.post(f"/admin/users/{me.id}", data=data, follow_redirects=True)
        assert message in _page(answer)
    fresh = _fresh(session, me.id)
    assert (fresh.role, fresh.active) == ("owner", True)
    assert client.get("/admin/users").status_code == 200  # still logged in


def test_the_store_always_keeps_an_active_owner(session, make_user):
    owner, finance = make_user("owner"), make_user("finance")
    for changes in ({"active": False}, {"role": "finance"}):
        for acting in (None, finance.id):  # the operator's CLI, or another login
            with pytest.raises(Conflict) as refused:
                people.change_user(session, owner.id, actor="t", acting_user_id=acting, **changes)
            assert refused.value.code == "last_owner"
    fresh = _fresh(session, owner.id)
    assert (fresh.role, fresh.active) == ("owner", True)
    second = make_user("owner")
    people.change_user(session, second.id, actor="t", acting_user_id=owner.id, active=False)
    with pytest.raises(Conflict, match="at least one active owner"):
        people.change_user(session, owner.id, actor="t", acting_user_id=None, active=False)


def test_two_owners_deactivating_each_other_at_once_leave_one(app, session, make_user, monkeypatch):
    first, second = make_user("owner"), make_user("owner")
    real_audit = people.audit

    def slow_audit(*args, **kwargs):  # widen the window between the check and the commit
        time.sleep(0.3)
        return real_audit(*args, **kwargs)

    monkeypatch.setattr(people, "audit", slow_audit)
    barrier, outcomes = threading.Barrier(2), {}

    def deactivate(me: tuple[int, str], other_id: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                people.change_user(
                    db.session, other_id, actor=me[1], acting_user_id=me[0], active=False
                )
                outcomes[me[0]] = "done"
            except Conflict as error:
                outcomes[me[0]] = error.code
            finally:
                db.session.remove()

    one, two = (first.id, first.email), (second.id, second.email)
    threads = [
        threading.Thread(target=deactivate, args=(one, two[0])),
        threading.Thread(target=deactivate, args=(two, one[0])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["done", "last_owner"]
    session.rollback()  # see what the threads committed
    active = session.scalar(
        select(func.count()).select_from(User).where(User.role == "owner", User.active)
    )
    assert active == 1


# --- changing others: confirmations and the way back -----------------------------------------


def test_role_changes_and_deactivation_ask_first(client, login, session, make_user):
    login("owner")
    ana = make_user("finance", email="ana@store.example")
    page = _page(client.get("/admin/users"))
    assert (
        'data-confirm="Deactivate ana@store.example? Their sessions end now and they can no '
        'longer log in."' in page
    )
    assert "data-confirm-danger" in page
    assert "Change the role of ana@store.example: Finance → Support?" in page
    assert "Change the role of ana@store.example: Finance → Owner?" in page
    changed = client.post(
        f"/admin/users/{ana.id}",
        data={"role": "support", "back": "tab=staff&q=ana&page=1"},
        follow_redirects=True,
    )
    assert "ana@store.example is now Support." in _page(changed)
    assert _fresh(session, ana.id).role == "support"
    gone = client.post(f"/admin/users/{ana.id}", data={"active": "off"}, follow_redirects=True)
    assert "ana@store.example is deactivated" in _page(gone)
    fresh = _fresh(session, ana.id)
    assert not fresh.active and fresh.session_version == 1
    assert "Reactivate" in _page(gone)


@pytest.mark.parametrize(
    ("back", "expected"),
    [
        ("tab=customers&q=ana&page=2", "/admin/users?tab=customers&q=ana&page=2"),
        ("tab=staff&role=finance", "/admin/users?tab=staff&role=finance"),
        ("", "/admin/users?tab=staff"),
        ("//evil.example/x", "/admin/users?tab=staff"),
        ("tab=evil&page=abc&q=%00", "/admin/users?tab=staff"),
    ],
)
def test_a_change_comes_back_to_the_same_table(client, login, make_user, back, expected):
    login("owner")
    other = make_user("support")
    answer = client.post(f"/admin/users/{other.id}", data={"role": "finance", "back": back})
    assert answer.status_code == 302 and answer.location == expected


# --- tabs, search, paging ---------------------------------------------------------------------


@pytest.fixture
def people_of_the_store(session, make_account, make_user):
    """An owner, two named staff and two customers (one holding two accounts)."""
    owner = make_user("owner", email="boss@store.example")
    people.create_user(
        session,
        "rita@store.example",
        "finance",
        actor="t",
        password=ROLE_PASSWORD,
        name="Rita Moreno",
    )
    people.create_user(session, "sam@store.example", "support", actor="t", name="Sam Lee")
    first = make_account(email="carla@shop.example")
    family = make_account(email="family@shop.example")
    credit.add_holder(session, family.id, "carla@shop.example", actor="t")  # a dependent
    make_account(email="dora@shop.example")
    people.create_user(session, "carla@shop.example", "customer", actor="t", name="Carla Dias")
    people.create_user(session, "dora@shop.example", "customer", actor="t", name="Dora")
    return {"owner": owner, "carla_account": first.id}


def test_staff_and_customers_are_separate_tabs(client, login, people_of_the_store):
    login(user=people_of_the_store["owner"])
    staff = _page(client.get("/admin/users"))
    assert "rita@store.example" in staff and "Rita Moreno" in staff and "sam@store.example" in staff
    assert "carla@shop.example" not in staff
    customers = _page(client.get("/admin/users?tab=customers"))
    assert "carla@shop.example" in customers and "dora@shop.example" in customers
    assert "rita@store.example" not in customers
    assert "2 accounts" in customers and "/admin/accounts?q=carla@shop.example" in customers
    assert "1 account" in customers  # dora: one account, a link to it
    assert "Deactivate carla@shop.example?" in customers
    unknown = _page(client.get("/admin/users?tab=nonsense"))
    assert "rita@store.example" in unknown and "carla@shop.example" not in unknown


def test_search_by_email_or_name_as_a_fragment_or_a_page(client, login, people_of_the_store):
    login(user=people_of_the_store["owner"])
    by_name = client.get("/admin/users?tab=staff&q=moreno", headers={"HX-Request": "true"})
    fragment = _page(by_name)
    assert by_name.status_code == 200 and "HX-Request" in by_name.headers["Vary"]
    assert "<html" not in fragment and 'id="users"' in fragment
    assert "rita@store.example" in fragment and "sam@store.example" not in fragment
    by_email = _page(client.get("/admin/users?tab=customers&q=DORA@"))
    assert "<html" in by_email and 'value="DORA@"' in by_email
    assert "dora@shop.example" in by_email and "carla@shop.example" not in by_email
    by_role = _page(client.get("/admin/users?tab=staff&role=support"))
    assert "sam@store.example" in by_role and "rita@store.example" not in by_role
    nothing = _page(client.get("/admin/users?q=zzz", headers={"HX-Request": "true"}))
    assert "Nothing matches." in nothing
    # The search box asks as you type, into the table, keeping the state in the URL.
    page = _page(client.get("/admin/users"))
    box = page.split('id="users-q"')[1].split(">")[0]
    for attribute in (
        'hx-get="/admin/users"',
        'hx-target="#users-table"',
        'hx-push-url="true"',
        'hx-trigger="input changed delay:300ms, search"',
    ):
        assert attribute in box


def test_paging_keeps_the_tab_and_bad_pages_are_the_first(client, login, session, make_user):
    owner = login("owner")
    for n in range(25):
        people.create_user(session, f"s{n:02d}@store.example", "support", actor="t")
    first = _page(client.get("/admin/users?tab=staff"))
    assert owner.email in first and "s00@store.example" in first  # owner… sorts before s…
    assert "s18@store.example" in first and "s19@store.example" not in first  # 20 a page
    assert "1–20 of 26" in first
    assert "/admin/users?tab=staff&amp;page=2" in first  # the pager keeps the tab
    second = _page(client.get("/admin/users?tab=staff&page=2", headers={"HX-Request": "true"}))
    assert "s19@store.example" in second and "s24@store.example" in second
    assert owner.email not in second and "s00@store.example" not in second
    for bad in ("abc", "0", "-1", "1.5", "99999999999", "²", "", "1e3", "%20"):
        answer = client.get(f"/admin/users?tab=staff&page={bad}")
        assert answer.status_code == 200, bad
        assert "s00@store.example" in _page(answer) and "1–20 of 26" in _page(answer), bad
    past_the_end = _page(client.get("/admin/users?tab=staff&page=40"))
    assert "s24@store.example" in past_the_end and "21–26 of 26" in past_the_end
    assert client.get("/admin/users?page=%00").status_code == 400  # NUL: refused everywhere
    bad_size = client.get("/admin/users?perPage=abc&role=nope&sort=password_hash")
    assert bad_size.status_code == 200 and "1–20 of 26" in _page(bad_size)


# --- owner only --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["finance", "support", "customer", "anonymous"])
def test_only_owners_see_or_change_users(client, login, session, make_user, make_account, role):
    other = make_user("support")
    if role == "customer":
        account = make_account(email="cust@shop.example")
        login(
            user=people.create_user(
                session, account.email, "customer", actor="t", password=ROLE_PASSWORD
            )
        )
    elif role != "anonymous":
        login(role)
    for method, path, data in (
        ("GET", "/admin/users", {}),
        ("GET", "/admin/users?tab=customers&q=a&page=2", {}),
        ("POST", "/admin/users", {"email": "x@store.example", "role": "owner"}),
        ("POST", f"/admin/users/{other.id}", {"active": "off"}),
        ("POST", f"/admin/users/{other.id}", {"role": "owner"}),
    ):
        answer = client.open(path, method=method, data=data)
        if role == "anonymous":
            assert answer.status_code == 302 and "/login" in answer.location
        else:
            assert answer.status_code == 403, (method, path)
    fresh = _fresh(session, other.id)
    assert (fresh.role, fresh.active) == ("support", True)
    assert session.scalar(select(User.id).where(User.email == "x@store.example")) is None
