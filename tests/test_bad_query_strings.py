"""Bad query strings never give a 500: every GET route, every role, every bad value.

Unicode digits such as "²" pass `str.isdigit()` and then make `int()` fail, negative or
fractional pages, impossible dates, unknown statuses, huge numbers, a 10,000-character
search, NUL characters (PostgreSQL refuses to compare them): each is sent to every GET
route of the app (path parameters filled with real ids) as an anonymous visitor, a
customer, support staff, the owner and an API key. HTML pages fall back to their
defaults; the JSON API answers 400 naming the parameter.
"""

from __future__ import annotations

import traceback
from urllib.parse import urlencode

import pytest
from flask import url_for
from sqlalchemy import select

from portal import invitations, listing, people, uploads
from portal.api import payload
from portal.api.errors import ApiError
from portal.checkout.cart import PRODUCTS
from portal.extensions import db
from portal.models import Invoice

from .conftest import POSTGRES_ONLY, ROLE_PASSWORD

BAD_PAGES = ["-1", "0", "abc", "²", "1.5", "99999999999999", ""]
BAD_SIZES = ["²", "-5", "abc", "100000000"]
BAD_DATES = ["²", "abc", "2024-13-45", "-1"]
BAD_FILTER_VALUES = ["²", "abc", "a\x00b"]  # PostgreSQL refuses NUL in any text it compares
BAD_QUANTITIES = ["²", "-3", "99999999999"]

# Values that are refused outright (an empty page is no page, a huge perPage is capped).
REFUSED_PAGES = [v for v in BAD_PAGES if v]
REFUSED_SIZES = ["²", "-5", "abc"]

# JSON lists that page with page/perPage (and validate them even when they stream it all).
API_PAGED = {
    "api.search_accounts",
    "api.search_invoices",
    "api.account_invoices",
    "api.account_statements",
    "api.export_accounts",
    "api.export_invoices",
}
# JSON lists where from/to are read: positions (searches) or dates (statements).
API_FROM_TO = API_PAGED - {"api.export_accounts", "api.export_invoices"}
# HTML lists: a bad page, size or date is ignored and the page is shown (200).
HTML_LISTS = {
    "admin.accounts_index": "staff",
    "admin.accounts_totals": "staff",
    "admin.accounts_export": "staff",
    "admin.accounts_show": "staff",
    "admin.invoices_index": "staff",
    "admin.invoices_totals": "staff",
    "admin.invoices_export": "staff",
    "admin.audit_index": "staff",
    "mycredits.index": "customer",
    "checkout.index": "anyone",
}
TEXT_IDS = (
    "account_id",
    "creditAccountId",
    "invoiceId",
    "invoice_id",
    "holder_id",
    "order_id",
    "token",
)
ROLES = ["anonymous", "customer", "support", "owner", "apikey"]


FILTER_NAMES = sorted(
    {
        flt.name
        for spec in vars(listing).values()
        if isinstance(spec, listing.ListingSpec)
        for flt in spec.filters
    }
)
# What views read from the query string besides the listings (grep request.args).
VIEW_ARGUMENTS = ["history_page", "tab", "dialect", "format", "kind", "term", "op", "next"]
# Sent all at once per bad value (halved when that is refused): every filter and the rest.
COMBINED = list(dict.fromkeys(FILTER_NAMES + VIEW_ARGUMENTS))
# One request per (name, value): paging, dates, sort, status and search.
SINGLE = list(
    dict.fromkeys(
        [("page", v) for v in BAD_PAGES]
        + [("perPage", v) for v in BAD_SIZES]
        + [(name, v) for name in ("from", "to") for v in BAD_DATES]
        + [("sort", "²"), ("status", "²"), ("q", "x" * 10_000), ("q", "\x00")]
    )
)
QUANTITIES = [(p.field, v) for p in PRODUCTS for v in BAD_QUANTITIES]


@pytest.fixture
def world(app, session, make_account, purchase):
    """Real objects for every path parameter: an account with a settled purchase (so
    invoices, transactions and statements exist), its customer login, an import batch,
    an API key and an invitation token."""
    account = make_account(limit="5000", email="holder@bad-query.example")
    hold = purchase(account, "300.00", term="30/60", order_id="ORD-00000042")
    invoice = session.scalars(select(Invoice).where(Invoice.account_id == account.id)).first()
    customer = people.create_user(
        session, account.email, "customer", actor="test", password=ROLE_PASSWORD
    )
    upload = (
        b"Email,Document,Document Type,Credit limit,Tolerance rate\n"
        b"new@bad-query.example,52998224725,CPF,100,0\n"
    )
    batch, _plan = uploads.preview_upload(session, "accounts", "bad-query.csv", upload, "test")
    key, token = people.create_api_key(session, "t", list(people.SCOPES), actor="test")
    invited = people.invite_customer(
        session, make_account(email="invited@bad-query.example").email, actor="test"
    )
    link = invitations.invitation_link(invited)
    return {
        "account_id": account.id,
        "creditAccountId": account.id,
        "invoiceId": invoice.id,
        "invoice_id": invoice.id,
        "holder_id": account.holders[0].id,
        "order_id": hold.order_id,
        "batch_id": batch.id,
        "importId": batch.id,
        "token": link.rsplit("/", 1)[-1],
        "customer": customer,
        "headers": {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token},
    }


def get_routes(app, world) -> dict[str, str]:
    """endpoint -> URL of every GET route except static files, path parameters filled."""
    routes = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or "GET" not in (rule.methods or ()):
                continue
            values = {}
            for name in rule.arguments:
                if name in world:
                    values[name] = world[name]
                elif name == "kind":
                    values[name] = "accounts"
                else:
                    raise AssertionError(f"no value for <{name}> of {rule.rule}")
            routes[rule.endpoint] = url_for(rule.endpoint, **values)
    return routes


def _may_see(role: str, endpoint: str) -> bool:
    audience = HTML_LISTS.get(endpoint)
    if audience in (None, "anyone"):
        return audience == "anyone"
    if audience == "staff":
        return role in ("support", "owner")
    return role == audience


def _refused(response) -> bool:
    """Whether the route keeps this role out (before reading any query string)."""
    status, location = response.status_code, response.headers.get("Location", "")
    return status in (401, 403) or (status in (302, 303) and "/login" in location)


def _label(args: list[tuple[str, str]]) -> str:
    if len(args) > 3:
        return f"{len(args)} arguments such as {args[0][0]}={args[0][1][:12]!r}"
    return "&".join(f"{name}={value[:12]!r}" for name, value in args) or "(none)"


class Crawl:
    """Send requests and collect every failure, so that one run reports them all."""

    def __init__(self, client, role: str, headers=None):
        self.client, self.role, self.headers = client, role, headers or {}
        self.failures: dict[str, list[str]] = {}  # what went wrong -> the arguments
        self.count = 0

    def get(self, url: str, args: list[tuple[str, str]]):
        """The response (its body read), or None when the view raised (a 500)."""
        self.count += 1
        try:
            response = self.client.get(f"{url}?{urlencode(args)}", headers=self.headers)
            response.get_data()  # run streamed bodies (CSV exports) to their end
            response.close()
        except Exception as exc:  # the testing app re-raises what would be a 500
            db.session.rollback()
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{frame.filename.rsplit('/main/', 1)[-1]}:{frame.lineno}"
            self.fail(url, args, f"{type(exc).__name__}: {exc} at {where}")
            return None
        if response.status_code >= 500:
            self.fail(url, args, f"status {response.status_code}")
        return response

    def expect(self, condition: bool, url: str, args, problem: str) -> None:
        if not condition:
            self.fail(url, args, problem)

    def fail(self, url: str, args, problem: str) -> None:
        self.failures.setdefault(f"GET {url} as {self.role}: {problem}", []).append(_label(args))

    def report(self) -> str:
        return "\n".join(f"{what}\n    with {'; '.join(a)}" for what, a in self.failures.items())


def _check_api(crawl: Crawl, endpoint: str, url: str, args, response) -> None:
    """Refusals under /api are JSON errors; a bad page, size or position is a 400 naming it."""
    status = response.status_code
    if status >= 400:
        error = (response.get_json(silent=True) or {}).get("error") or {}
        crawl.expect(bool(error.get("code")), url, args, f"{status} without a JSON error")
    if len(args) != 1:
        return
    name, value = args[0]
    refused = (
        (name == "page" and value in REFUSED_PAGES and endpoint in API_PAGED)
        or (name == "perPage" and value in REFUSED_SIZES and endpoint in API_PAGED)
        or (name in ("from", "to") and endpoint in API_FROM_TO)
    )
    if not refused:
        return
    crawl.expect(status == 400, url, args, f"{status} instead of 400")
    if status == 400 and response.is_json:
        error = response.get_json()["error"]
        problem = f"the error names {error['field']!r}: {error['message']}"
        crawl.expect(error["field"] == name and name in error["message"], url, args, problem)


def _check_page(crawl: Crawl, endpoint: str, url: str, args, response) -> None:
    """HTML lists ignore what they cannot read (the account switcher aside: not yours, 404)."""
    if endpoint in ("mycredits.index", "checkout.index") and "account" in dict(args):
        return
    status = response.status_code
    if any("\x00" in f"{name}{value}" for name, value in args):
        crawl.expect(status == 400, url, args, f"{status} instead of 400 for a NUL")
        return
    crawl.expect(status == 200, url, args, f"{status} instead of the page")


def crawl_route(crawl: Crawl, endpoint: str, url: str) -> None:
    """Every bad argument on one route: paging, dates, sort, status and search one at a
    time; the filters and the other arguments views read all at once per bad value, halved
    until alone when that is refused (a strict API stops at the first bad filter)."""
    baseline = crawl.get(url, [])
    if baseline is not None and _refused(baseline):
        everything = SINGLE + [(name, "²") for name in COMBINED] + QUANTITIES
        crawl.get(url, everything)  # kept out the same way, whatever the query string
        return
    singles = SINGLE + (QUANTITIES if endpoint == "checkout.index" else [])
    batches = [[pair] for pair in singles]
    for value in BAD_FILTER_VALUES:
        batches.append([(name, value) for name in COMBINED])
    while batches:
        args = batches.pop(0)
        response = crawl.get(url, args)
        if len(args) > 1 and (response is None or response.status_code >= 400):
            middle = len(args) // 2  # refused or failed: halve until each reason is seen
            batches += [args[:middle], args[middle:]]
            continue
        if response is None:
            continue
        if url.startswith("/api/"):
            _check_api(crawl, endpoint, url, args, response)
        elif _may_see(crawl.role, endpoint):
            _check_page(crawl, endpoint, url, args, response)


@POSTGRES_ONLY
@pytest.mark.parametrize("role", ROLES)
def test_no_bad_query_string_gives_a_500(app, client, login, world, role):
    if role == "customer":
        login(user=world["customer"])
    elif role in ("support", "owner"):
        login(role)
    crawl = Crawl(client, role, world["headers"] if role == "apikey" else None)
    routes = get_routes(app, world)
    assert {"admin.audit_index", "api.search_invoices", "checkout.index"} <= set(routes)
    for endpoint, url in routes.items():
        if role != "apikey" or url.startswith(("/api/", "/ppp/")):
            crawl_route(crawl, endpoint, url)
    # Path parameters with a NUL: no such object (404), never a database error.
    nul_ids = {**world, **{name: "a\x00b" for name in TEXT_IDS}}
    for endpoint, url in get_routes(app, nul_ids).items():
        if url != routes[endpoint] and (role != "apikey" or url.startswith("/api/")):
            crawl.get(url, [])
    assert not crawl.failures, crawl.report()


# --- the parsers (listing.parse: tests/api/test_listing.py) ----------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        *[("1", 1), ("007", 7), (" 42 ", 42), ("999999999", 999999999)],
        *[("²", None), ("٣", None), ("-1", None), ("1.5", None), ("1_000", None)],
        *[("", None), ("1234567890", None), ("0x1", None)],
    ],
)
def test_whole_number_reads_ascii_digits_only(text, number):
    assert listing.whole_number(text) == number


def test_window_reads_positions():
    assert payload.window({}) is None
    assert payload.window({"from": "3", "to": "5"}) == (2, 3)
    assert payload.window({"from": "2"}) == (1, 20)
    assert payload.window({"to": "5000"}) == (0, 1000)


@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("raw", ["²", "abc", "0", "-1", "1.5", "1234567890", "2024-13-45"])
def test_window_refuses_bad_positions(name, raw):
    with pytest.raises(ApiError) as error:
        payload.window({name: raw})
    refusal = (error.value.status, error.value.code, error.value.field)
    assert refusal == (400, "invalid_paging", name)
    assert name in error.value.message


def test_window_refuses_an_end_before_the_start():
    with pytest.raises(ApiError) as error:
        payload.window({"from": "5", "to": "2"})
    assert error.value.field == "to"


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/admin/accounts?q=a%00b", None),
        ("GET", "/admin/invoices/x%00y", None),
        ("POST", "/admin/invoices/x%00y/cancel", {}),
        ("POST", "/login", {"email": "a\x00@example.com", "password": "x"}),
    ],
)
def test_nul_characters_are_refused_with_a_page_not_a_500(client, login, method, path, data):
    login("owner")
    response = client.open(path, method=method, data=data)
    assert response.status_code == 400
    assert "Request not understood" in response.get_data(as_text=True)
