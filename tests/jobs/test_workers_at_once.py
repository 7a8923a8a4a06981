"""Several workers at once (threads, each with its own session), and API calls meanwhile:
each hold settled or expired exactly once, no deadlock, no error."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import credit, jobs, people
from portal.extensions import db
from portal.models import Invoice, JobRun, PreAuthorization

from .conftest import CORE, PAST, assert_settled_once

NOW = PAST + timedelta(days=40)


def _in_threads(app, count: int, work, timeout: float = 120) -> list:
    """Run work(i) in `count` threads released together, each in its own app context."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[i] = work(i)
            except BaseException as error:  # reported, not lost in the thread
                results[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_at_once_settle_and_expire_each_hold_once(app, session, past_holds, workers):
    settle_ids, expire_ids = past_holds(accounts=6, per_account=5, expiring=2)

    def passes(i: int) -> list[jobs.PassResult]:
        return [jobs.run_pass(db.session, NOW, jobs=CORE, worker=f"t{i}") for _ in range(2)]

    results = [r for rs in _in_threads(app, workers, passes) for r in rs]
    assert all(not r.errors for r in results)
    assert sum(r.counts["settle"] for r in results) == len(settle_ids)  # once each
    assert sum(r.counts["expire"] for r in results) == len(expire_ids)
    assert_settled_once(session, settle_ids, expire_ids)
    runs = session.scalars(select(JobRun)).all()
    assert len(runs) == 2 * workers and all(run.finished_at for run in runs)
    for account_id in {h.account_id for h in session.scalars(select(PreAuthorization))}:
        assert credit.get_account(session, account_id).pre_authorized == 0


def test_every_registered_job_runs_in_four_workers_at_once(app, session, past_holds):
    settle_ids, expire_ids = past_holds(accounts=4, per_account=3, expiring=1)

    def passes(i: int) -> list[jobs.PassResult]:
        return [jobs.run_pass(db.session, NOW, worker=f"t{i}") for _ in range(2)]

    results = [r for rs in _in_threads(app, 4, passes) for r in rs]
    assert [r.errors for r in results] == [{}] * 8
    assert sum(r.counts["settle"] for r in results) == len(settle_ids)
    assert_settled_once(session, settle_ids, expire_ids)


def test_api_calls_during_passes_never_deadlock(app, session, make_account, settings):
    """Checkouts buy, cancel and pay through the API on the accounts the workers settle."""
    settings(settle_after_business_days=0)  # every hold is due at once: maximum contention
    key, token = people.create_api_key(session, "erp", list(people.SCOPES), actor="test")
    headers = {"X-VTEX-API-AppKey": key.key, "X-VTEX-API-AppToken": token}
    account_ids = [make_account(limit="1000000").id for _ in range(3)]
    api_threads, rounds = 3, 12
    done = threading.Event()
    answers: list[tuple[str, int]] = []

    def api(i: int) -> None:
        client = app.test_client()
        chance = random.Random(i)
        for n in range(rounds):
            account_id = chance.choice(account_ids)
            base = f"/api/creditcontrol/accounts/{account_id}"
            tid = f"A{i}-{n}"
            answer = client.put(  # PUT names the hold; POST would choose its id
                f"{base}/transactions/{tid}",
                json={"value": 50, "installments": 1 + n % 2},
                headers=headers,
            )
            answers.append(("authorize", answer.status_code))
            if n % 3 == 0:
                answer = client.delete(f"{base}/transactions/{tid}", headers=headers)
                answers.append(("cancel", answer.status_code))  # 409 when settled first
            invoices = client.get(f"{base}/invoices?status=Opened", headers=headers)
            for invoice in (invoices.get_json() or {}).get("data", [])[:1]:
                answer = client.post(
                    f"{base}/invoices/{invoice['id']}/payments", json={}, headers=headers
                )
                answers.append(("pay", answer.status_code))

    def worker(i: int) -> list[jobs.PassResult]:
        results = []
        while not done.is_set() or not results:
            results.append(jobs.run_pass(db.session, worker=f"w{i}"))
        results.append(jobs.run_pass(db.session, worker=f"w{i}"))  # after the last call
        return results

    finished: list[int] = []

    def run(i: int):
        if i < api_threads:
            try:
                return api(i)
            finally:
                finished.append(i)
                if len(finished) == api_threads:
                    done.set()
        return worker(i)

    results = _in_threads(app, api_threads + 2, run, timeout=240)
    passes = [r for rs in results[api_threads:] for r in rs]
    assert [r.errors for r in passes] == [{}] * len(passes)
    assert not [a for a in answers if a[1] >= 500], answers
    assert {code for kind, code in answers if kind == "authorize"} == {200}
    assert {code for kind, code in answers if kind == "cancel"} <= {200, 409}
    assert {code for kind, code in answers if kind == "pay"} <= {200, 409}
    assert sum(1 for kind, _ in answers if kind == "authorize") == api_threads * rounds
    session.rollback()
    statuses = dict(session.execute(select(PreAuthorization.id, PreAuthorization.status)).all())
    assert set(statuses.values()) <= {"Settled", "Cancelled"}
    settled = [tid for tid, status in statuses.items() if status == "Settled"]
    assert sum(r.counts["settle"] for r in passes) == len(settled)
    per_hold = dict(
        session.execute(
            select(Invoice.transaction_id, func.count()).group_by(Invoice.transaction_id)
        ).all()
    )
    holds = {h.id: h for h in session.scalars(select(PreAuthorization))}
    assert per_hold == {tid: holds[tid].installments for tid in settled}
    assert credit.find_breaches(session) == []
