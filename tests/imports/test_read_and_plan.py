"""CSV imports: messy files, exact previews, all-or-nothing apply, round trips."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal import credit, imports, search, uploads
from portal.credit import bulk
from portal.models import Account, Holder, ImportBatch, Invoice, StatementEntry

CPF_A, CPF_B, CPF_C, CPF_D = "52998224725", "11144477735", "39053344705", "15350946056"


def _preview(session, text, kind="accounts", encoding="utf-8", **kwargs):
    content = text.encode(encoding) if isinstance(text, str) else text
    return uploads.preview_upload(session, kind, "file.csv", content, "tester", **kwargs)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "utf8",
            f"Email,Document,Document Type,Credit limit,Tolerance rate\n"
            f"a@example.com,{CPF_A},CPF,1234.56,0.1\n".encode(),
        ),
        (
            "utf8 bom",
            (
                "\ufeffEmail,Document,Document Type,Credit limit,Tolerance rate\r\n"
                f"a@example.com,{CPF_A},CPF,1234.56,0.1\r\n"
            ).encode(),
        ),
        (
            "cp1252 semicolon pt",
            (
                "E-mail;Documento;Tipo de documento;Limite de crédito;"
                f"Tolerância\n a@example.com ;{CPF_A};cpf;1.234,56;10%\n\n;;;;\n"
            ).encode("cp1252"),
        ),
        (
            "spanish headers any case",
            (
                "CORREO;DOCUMENTO;TIPO DE DOCUMENTO;LÍMITE DE CRÉDITO;"
                f"TASA DE TOLERANCIA\na@example.com;{CPF_A};CPF;"
                "R$ 1.234,56;0,1\n"
            ).encode("latin-1"),
        ),
        (
            "us thousands",
            (
                b"Email,Document,Document Type,Credit limit,Tolerance rate\n"
                b'a@example.com,529.982.247-25,CPF,"1,234.56",0.1\n'
            ),
        ),
    ],
)
def test_messy_files_give_the_same_account(session, name, content):
    batch, plan = _preview(session, content)
    assert plan.counts == {"create": 1, "update": 0, "unchanged": 0, "rejected": 0}, plan.rows
    uploads.apply_batch(session, batch.id, "tester")
    account = session.get(Account, f"{CPF_A}_CPF")
    assert (account.email, account.credit_limit, account.tolerance) == (
        "a@example.com",
        Decimal("1234.56"),
        Decimal("0.1"),
    )


def test_quoted_fields_with_line_breaks_and_dependents(session):
    text = (
        "Email,Document,Document Type,Credit limit,Tolerance rate,Name,Dependents\n"
        f'a@example.com,{CPF_A},CPF,100,0,"ACME\nFilial 2","k1@example.com; K2@example.com"\n'
        f"b@example.com,{CPF_B},CPF,200,0,Bob,\n"
    )
    batch, plan = _preview(session, text)
    assert [r.row for r in plan.rows] == [2, 3]
    uploads.apply_batch(session, batch.id, "tester")
    holders = session.scalars(
        select(Holder.email).where(Holder.account_id == f"{CPF_A}_CPF").order_by(Holder.email)
    ).all()
    assert holders == ["a@example.com", "k1@example.com", "k2@example.com"]
    assert session.get(Account, f"{CPF_A}_CPF").name == "ACME\nFilial 2"


def test_rejected_rows_name_line_column_and_reason(session, make_account):
    make_account(email="taken@example.com")
    text = (
        "Email,Document,Document Type,Credit limit,Tolerance rate\n"
        f"ok@example.com,{CPF_A},CPF,100,0\n"
        f"bad-email,{CPF_B},CPF,100,0\n"
        "x@example.com,52998224724,CPF,100,0\n"
        f"y@example.com,{CPF_C},RG,100,0\n"
        f"z@example.com,{CPF_C},CPF,abc,0\n"
        f"ok2@example.com,{CPF_A},CPF,100,0\n"
        f"taken@example.com,{CPF_D},CPF,100,0\n"
    )
    _, plan = _preview(session, text)
    assert plan.counts == {"create": 1, "update": 0, "unchanged": 0, "rejected": 6}
    assert [(r.row, [column for column, _ in r.errors]) for r in plan.rejected] == [
        (3, ["Email"]),
        (4, ["Document"]),
        (5, ["Document Type"]),
        (6, ["Credit limit"]),
        (7, ["Document"]),
        (8, ["Email"]),
    ]
    assert "twice" in plan.rejected[4].errors[0][1] and "row 2" in plan.rejected[4].errors[0][1]
    assert "already belongs to account" in plan.rejected[5].errors[0][1]


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not_csv", "not a CSV"),
        (b"", "empty_file", "empty"),
        (
            b"Email,Document\na@example.com,1\n",
            "missing_columns",
            "Document Type, Credit limit, Tolerance rate",
        ),
        (b"x" * 2048, "file_too_large", "larger than"),
    ],
)
def test_files_refused_whole(session, content, code, words):
    with pytest.raises(credit.InvalidInput) as error:
        _preview(session, content, max_bytes=1024)
    assert error.value.code == code and words in error.value.message
    assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_all_or_nothing_when_last_row_is_bad(session):
    text = (
        "Email,Document,Document Type,Credit limit,Tolerance rate\n"
        + "".join(f"u{i}@example.com,{doc},CPF,100,0\n" for i, doc in enumerate([CPF_A, CPF_B]))
        + f"u9@example.com,{CPF_C},CPF,-5,0\n"
    )
    batch, plan = _preview(session, text)
    assert plan.counts["rejected"] == 1
    with pytest.raises(credit.Conflict) as error:
        uploads.apply_batch(session, batch.id, "tester")
    assert error.value.code == "rows_rejected"
    assert session.scalar(select(func.count()).select_from(Account)) == 0
    batch, plan = uploads.apply_batch(session, batch.id, "tester", only_valid=True)
    assert session.scalar(select(func.count()).select_from(Account)) == 2
    assert batch.status == "applied" and batch.only_valid
    _batch, plan, rows = uploads.load_batch(session, batch.id)
    rejected = "".join(uploads.rejected_rows_csv(plan, rows, "accounts"))
    assert rejected.splitlines()[0].endswith(",Error")
    assert "Row 4: Credit limit: Credit limit must not be negative." in rejected


def test_update_and_reimport_changes_nothing(session, make_account, purchase):
    account = make_account(limit="1000", email="old@example.com")
    purchase(account, "100")
    text = (
        "Email,Document,Document Type,Credit limit,Tolerance rate\n"
        f"old@example.com,{account.document},CPF,1500,0.05\n"
    )
    batch, plan = _preview(session, text)
    assert plan.counts["update"] == 1
    uploads.apply_batch(session, batch.id, "tester")
    session.expire_all()
    account = session.get(Account, account.id)
    assert (account.credit_limit, account.balance, account.tolerance) == (
        Decimal("1500.00"),
        Decimal("1400.00"),
        Decimal("0.05"),
    )
    entries = session.scalar(select(func.count()).select_from(StatementEntry))
    batch2, plan2 = _preview(session, text)
    assert plan2.counts == {"create": 0, "update": 0, "unchanged": 1, "rejected": 0}
    uploads.apply_batch(session, batch2.id, "tester")
    assert session.scalar(select(func.count()).select_from(StatementEntry)) == entries
    assert credit.find_breaches(session) == []


def test_invoices_bulk_update_statuses_in_pt(session, make_account, purchase):
    account = make_account(limit="1000")
    hold = purchase(account, "90", term="30/60/90")
    ids = [f"{hold.id}-0{n}" for n in (1, 2, 3)]
    friendly = session.get(Invoice, ids[1]).friendly_id
    text = (
        "ID da fatura;Código;Situação;Link de pagamento;Observação;Valor pago\n"
        f"{ids[0]};;Pago;https://pay.example/1;pago via PIX;\n"
        f";{friendly};Cancelado;;;\n"
        f"{ids[2]};;Aberto;;;10,00\n"
    )
    batch, plan = _preview(session, text, kind="invoices", encoding="cp1252")
    assert plan.counts == {"create": 0, "update": 3, "unchanged": 0, "rejected": 0}, plan.rows
    uploads.apply_batch(session, batch.id, "tester")
    statuses = [session.get(Invoice, i).status for i in ids]
    assert statuses == ["Paid", "Cancelled", "Opened"]
    assert session.get(Invoice, ids[2]).paid_amount == Decimal("10.00")
    assert session.get(Account, account.id).balance == Decimal("1000.00") - Decimal("20.00")
    _, again = _preview(session, text, kind="invoices", encoding="cp1252")
    assert again.counts["unchanged"] == 3
    assert credit.find_breaches(session) == []


def test_invoice_rows_refused(session, make_account, purchase):
    account = make_account(limit="1000")
    hold = purchase(account, "90")
    text = f"Invoice id,Status,Paid amount\nNOPE-01,Paid,\n{hold.id}-01,Late,\n{hold.id}-01,,100\n"
    _, plan = _preview(session, text, kind="invoices")
    assert [(r.row, r.errors[0][0]) for r in plan.rejected] == [
        (2, "Invoice id"),
        (3, "Status"),
        (4, "Paid amount"),
    ]


def test_neutralize_formulas():
    assert imports.neutralize("=1+1") == "'=1+1"
    assert imports.neutralize("@SUM(A1)") == "'@SUM(A1)"
    assert imports.neutralize("+55 11") == "'+55 11"
    assert imports.neutralize("\tx") == "'\tx"
    assert imports.neutralize("-15.00") == "-15.00"
    assert imports.neutralize("-1+2") == "'-1+2"
    assert imports.neutralize("plain") == "plain"


@pytest.mark.parametrize(
    ("text", "comma", "expected"),
    [
        ("1.234,56", True, "1234.56"),
        ("1,234.56", False, "1234.56"),
        ("1.234,56", False, "1234.56"),  # both separators: the last one is the decimal
        ("1234,56", True, "1234.56"),
        ("1,234", False, "1234"),
        ("1.234", True, "1234"),
        ("R$ 10,00", True, "10.00"),
        ("", True, ""),
    ],
)
def test_normalize_number(text, comma, expected):
    assert imports.normalize_number(text, comma) == expected


def test_normalize_a_tolerance_ratio_or_percentage():
    assert imports.normalize_number("20%", False, "tolerance") == "0.20"
    assert imports.normalize_number("0,2", True, "tolerance") == "0.2"


@pytest.mark.parametrize(
    ("text", "comma", "reason"),
    [
        ("1234,56", False, "use a point for decimals"),  # never guessed
        ("1,234", True, "at most 2 decimals"),  # neither 1.234 nor 1234
        ("20%", False, "does not take a percentage"),  # a credit limit
        ("abc", False, "contains letters"),
        ("5O00", True, "contains letters"),
    ],
)
def test_normalize_number_keeps_what_it_cannot_read_with_the_reason(text, comma, reason):
    cell = imports.normalize_number(text, comma)
    assert cell == text and isinstance(cell, bulk.Unreadable) and reason in cell.error.message


def test_plan_is_a_dry_run(session):
    text = (
        f"Email,Document,Document Type,Credit limit,Tolerance rate\na@example.com,{CPF_A},CPF,1,0\n"
    )
    plan = bulk.plan_accounts(session, imports.read_table(text.encode(), "accounts").rows)
    assert plan.counts["create"] == 1
    assert session.scalar(select(func.count()).select_from(Account)) == 0


def test_a_large_file_is_written_whole_and_searchable(session):
    """5,000 accounts with a dependent each: on SQLite more rows than one INSERT carries
    (accounts and holders both span statements), every one written, found by the search
    index the triggers keep, the ledger whole; the connection's page cache is its own
    again after."""
    from validate_docbr import CPF

    documents = sorted(set(CPF().generate_list(5200)))[:5000]
    text = "Email,Document,Document Type,Credit limit,Tolerance rate,Dependents\n" + "".join(
        f"buyer{i}@example.com,{doc},CPF,{i}.50,0,dep{i}@example.com\n"
        for i, doc in enumerate(documents)
    )
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    cache = connection.exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None
    batch, plan = _preview(session, text)
    assert plan.counts["create"] == 5000
    uploads.apply_batch(session, batch.id, "tester")
    assert session.scalar(select(func.count()).select_from(Account)) == 5000
    assert session.scalar(select(func.count()).select_from(Holder)) == 10000
    for i in (0, 2339, 2340, 4999):
        found = session.scalars(
            select(Account.email).where(search.account_matches(f"dep{i}@"))
        ).all()
        assert found == [f"buyer{i}@example.com"]
    assert session.scalar(select(func.sum(Account.credit_limit))) == sum(
        Decimal(f"{i}.50") for i in range(5000)
    )
    assert credit.find_breaches(session) == []
    if sqlite:
        assert session.connection().exec_driver_sql("PRAGMA cache_size").scalar() == cache
