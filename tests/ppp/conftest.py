"""Fixtures for the Payment Provider Protocol: key headers, a client, request bodies."""

from __future__ import annotations

import itertools

import pytest

from portal import people

_ids = itertools.count(1)


def key_headers(key, token: str) -> dict[str, str]:
    """The headers VTEX sends with the provider's key pair."""
    return {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}


@pytest.fixture
def headers(session) -> dict[str, str]:
    """Headers of a key holding only transactions:write, the scope the protocol needs."""
    return key_headers(
        *people.create_api_key(session, "checkout", ["transactions:write"], actor="test")
    )


def payment_body(
    account=None,
    value=100.0,
    *,
    payment_id=None,
    email=None,
    document=None,
    document_type="cpf",
    installments=1,
    **extra,
) -> dict:
    """A create-payment request as VTEX sends it (the fields the portal reads, and more)."""
    payment_id = payment_id or f"PAY{next(_ids):06d}"
    return {
        "reference": "618272",
        "orderId": f"ORDER-{payment_id}",
        "shopperInteraction": "ecommerce",
        "transactionId": f"TX-{payment_id}",
        "paymentId": payment_id,
        "paymentMethod": "Promissories",
        "paymentMethodCustomCode": None,
        "merchantName": "mystore",
        "value": value,
        "currency": "BRL",
        "installments": installments,
        "deviceFingerprint": "75076388",
        "miniCart": {
            "shippingValue": 0,
            "taxValue": 0,
            "buyer": {
                "firstName": "Ana",
                "lastName": "Lima",
                "document": document if document is not None else getattr(account, "document", ""),
                "documentType": document_type,
                "email": email if email is not None else getattr(account, "email", ""),
                "phone": "+5511999999999",
            },
            "shippingAddress": {},
            "billingAddress": {},
            "items": [],
        },
        "url": "https://admin.example.com/orders?q=1",
        "callbackUrl": "https://gateway.example.com/callback",
        "returnUrl": "https://store.example.com/checkout/order/1",
        **extra,
    }


class Ppp:
    """The test client speaking the protocol with the checkout's headers."""

    def __init__(self, client, headers):
        self.client, self.headers = client, headers

    def post(self, path: str, body=None, *, headers=None, **kwargs):
        return self.client.post(
            f"/ppp{path}",
            json=body,
            headers=headers if headers is not None else self.headers,
            **kwargs,
        )

    def pay(self, account=None, value=100.0, **kwargs):
        return self.post("/payments", payment_body(account, value, **kwargs))

    def settle(self, payment_id: str, value, request_id="SETTLE-1"):
        return self.post(
            f"/payments/{payment_id}/settlements",
            {
                "transactionId": f"TX-{payment_id}",
                "requestId": request_id,
                "paymentId": payment_id,
                "value": value,
                "authorizationId": payment_id,
            },
        )

    def cancel(self, payment_id: str, request_id="CANCEL-1"):
        return self.post(
            f"/payments/{payment_id}/cancellations",
            {"paymentId": payment_id, "requestId": request_id, "authorizationId": payment_id},
        )

    def refund(self, payment_id: str, value, request_id="REFUND-1"):
        return self.post(
            f"/payments/{payment_id}/refunds",
            {
                "requestId": request_id,
                "settleId": payment_id,
                "paymentId": payment_id,
                "tid": payment_id,
                "value": value,
                "transactionId": f"TX-{payment_id}",
            },
        )


@pytest.fixture
def ppp(client, headers) -> Ppp:
    """Speak the protocol as the checkout: ppp.pay(account, "100")."""
    return Ppp(client, headers)


@pytest.fixture
def fresh(session):
    """Forget what the test's session has cached, to read what the requests wrote."""

    def reload():
        session.rollback()
        session.expire_all()

    return reload
