"""Who may make which change: one table for every surface (pages, API, imports).

A change is named by the right it needs. A person's rights come from their role, an API
key's from its scopes, and both come from the tables below, so an import row, a form and
an API call that make the same change need the same right. A value that does not change
needs nothing: an exported file imports back unchanged for anyone who may import.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from .errors import CreditError

LIMITS = "limits"  # a credit limit or tolerance; opening above the default credit
BALANCE = "balance"  # a manual adjustment of the balance (a Statement entry)
ACCOUNTS = "accounts"  # open accounts, change e-mail / name / description, holders
PAY = "pay"  # record payments on invoices
INVOICES = "invoices"  # cancel, reopen, postpone, refund; payment link and observation

RIGHTS = (LIMITS, BALANCE, ACCOUNTS, PAY, INVOICES)
ROLE_RIGHTS = {
    "owner": frozenset(RIGHTS),
    "finance": frozenset({ACCOUNTS, PAY, INVOICES}),
    "support": frozenset(),
    "customer": frozenset(),
}
# The scope(s) of the API operations that make each change directly.
SCOPE_RIGHTS = {
    # PUT …/creditlimit, …/tolerance, …/statements/{id}
    "accounts:write": frozenset({ACCOUNTS, LIMITS, BALANCE}),
    "invoices:pay": frozenset({PAY}),  # POST …/payments
    "invoices:create": frozenset({PAY, INVOICES}),  # PUT / DELETE …/invoices/{id}
}
CHANGES = {
    LIMITS: _l("Changing a credit limit or tolerance"),
    BALANCE: _l("Adjusting a balance by hand"),
    ACCOUNTS: _l("Changing an account"),
    PAY: _l("Recording a payment"),
    INVOICES: _l("Cancelling, reopening or annotating an invoice"),
}


class Forbidden(CreditError):
    """The change needs a right the person or key does not have."""

    status = 403


def roles_with(right: str) -> tuple[str, ...]:
    """The staff roles that hold `right` (for the views' role checks)."""
    return tuple(role for role, rights in ROLE_RIGHTS.items() if right in rights)


def scopes_with(right: str) -> tuple[str, ...]:
    """The API scopes that grant `right`."""
    return tuple(scope for scope, rights in SCOPE_RIGHTS.items() if right in rights)


@dataclass(frozen=True)
class Grant:
    """What one person (by role) or one API key (by scopes) may change."""

    rights: frozenset[str]
    role: str | None = None

    @classmethod
    def for_role(cls, role: str) -> Grant:
        """The rights of a staff role."""
        return cls(ROLE_RIGHTS.get(role, frozenset()), role=role)

    @classmethod
    def for_scopes(cls, scopes) -> Grant:
        """The rights of an API key with these scopes."""
        rights = frozenset().union(*(SCOPE_RIGHTS.get(scope, frozenset()) for scope in scopes))
        return cls(rights)

    def allows(self, right: str) -> bool:
        """Whether the change is allowed."""
        return right in self.rights

    def refusal(self, right: str) -> str:
        """Why a change is refused, in words: who may make it."""
        if self.role is not None:
            roles = ", ".join(roles_with(right))
            return str(
                _l("%(change)s needs the %(roles)s role.", change=CHANGES[right], roles=roles)
            )
        scopes = " or ".join(scopes_with(right))
        return str(
            _l("%(change)s needs the %(scopes)s scope.", change=CHANGES[right], scopes=scopes)
        )

    def check(self, right: str, field: str | None = None) -> None:
        """Raise Forbidden unless the change is allowed."""
        if not self.allows(right):
            raise Forbidden("forbidden", self.refusal(right), field)


EVERYTHING = Grant(frozenset(RIGHTS))  # the CLI, jobs and tests that act as the store itself


def opening_needs(limit: Decimal, tolerance: Decimal, default_credit: Decimal) -> str:
    """The right opening an account needs: more than the store's default credit, or any
    tolerance, is a limit decision; anything else is ordinary account work."""
    return LIMITS if limit > default_credit or tolerance > 0 else ACCOUNTS
