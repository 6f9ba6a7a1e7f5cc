"""Accounts under attack: forged loaders, parallel guessing, sessions that outlive a change,
and stewards deciding for another department."""

from __future__ import annotations

import io
import threading

import pytest
from ingest_helpers import EXAMPLES, make_store
from open_data_store import tiny_store

from analytics import cli
from analytics.errors import CityBrainError
from analytics.opendata import accounts, applications
from analytics.store import Store


def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text + "\n"))


def test_forged_as_user_is_refused_and_lineage_names_the_signed_in_account(tmp_path, monkeypatch,
                                                                          capsys):
    path = tmp_path / "s.duckdb"
    store = make_store(path)
    admin = accounts.create_first_admin(store, "admin", "Root-pass-123")
    accounts.add_user(store, admin, "jiao", "data_steward", "Green-tea-42", department="教育局")
    store.close()
    school = str(EXAMPLES / "education_schools_gbk.csv")
    args = ["ingest", school, "--dataset", "education_schools", "--store", str(path)]
    # someone who can run the CLI but does not know the administrator's password
    _stdin(monkeypatch, "guess-guess-1")
    assert cli.main(args + ["--as-user", "admin"]) == 2
    assert "wrong user name or password" in capsys.readouterr().err
    with Store.open(path) as s:
        assert s.table("ingest_log").empty and s.table("dept_schools").empty
    _stdin(monkeypatch, "Green-tea-42")
    assert cli.main(args + ["--as-user", "jiao"]) == 0
    with Store.open(path) as s:
        assert s.table("ingest_log")["actor"].tolist() == ["jiao"]
        assert len(s.table("dept_schools")) == 60
        # the CLI's session ended with the load
        assert s.table("sessions")["revoked"].all()


def test_forty_concurrent_guesses_check_at_most_five_passwords(tmp_path, monkeypatch):
    store = make_store(tmp_path / "s.duckdb")
    accounts.create_first_admin(store, "admin", "Root-pass-123")
    checked = []
    real = accounts._hasher

    class Counting:  # the real hasher, counting the passwords it checks
        def verify(self, stored, password):
            checked.append(password)
            return real.verify(stored, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    barrier = threading.Barrier(40)
    outcomes = []

    def guess(n):
        barrier.wait()
        try:
            accounts.sign_in(store, "admin", f"wrong-guess-{n:02d}")
            outcomes.append("in")
        except accounts.SignInRefused as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 40 and "in" not in outcomes
    assert len(checked) <= accounts.MAX_FAILURES
    assert outcomes.count("sign_in_paused") >= 40 - accounts.MAX_FAILURES
    with pytest.raises(accounts.SignInRefused, match="paused"):  # even the right password
        accounts.sign_in(store, "admin", "Root-pass-123")
    store.close()


@pytest.fixture()
def people(tmp_path):
    store = tiny_store(path=tmp_path / "t.duckdb")
    admin = accounts.create_first_admin(store, "admin", "Root-pass-123")
    accounts.add_user(store, admin, "ann", "analyst", "Green-tea-42")
    yield store, admin
    store.close()


def test_password_change_ends_every_session(people):
    store, admin = people
    stolen = accounts.sign_in(store, "ann", "Green-tea-42").token
    assert accounts.session_actor(store, stolen).name == "ann"
    me = accounts.session_actor(store, stolen)
    accounts.set_password(store, me, "ann", "New-river-88")
    assert accounts.session_actor(store, stolen) is None
    reset = accounts.sign_in(store, "ann", "New-river-88").token
    accounts.set_password(store, admin, "ann", "Third-lake-99")  # an administrator's reset too
    assert accounts.session_actor(store, reset) is None


def test_disable_then_enable_revives_no_session(people):
    store, admin = people
    token = accounts.sign_in(store, "ann", "Green-tea-42").token
    accounts.set_disabled(store, admin, "ann", True)
    accounts.set_disabled(store, admin, "ann", False)
    assert accounts.session_actor(store, token) is None
    assert accounts.session_actor(store, accounts.sign_in(store, "ann", "Green-tea-42").token)


def test_role_change_ends_sessions(people):
    store, admin = people
    token = accounts.sign_in(store, "ann", "Green-tea-42").token
    changed = accounts.set_role(store, admin, "ann", "data_steward", "民政局")
    assert (changed.role, changed.department) == ("data_steward", "民政局")
    assert accounts.session_actor(store, token) is None
    fresh = accounts.session_actor(store, accounts.sign_in(store, "ann", "Green-tea-42").token)
    assert (fresh.role, fresh.department) == ("data_steward", "民政局")


def test_stewards_decide_only_their_departments_applications(people):
    store, admin = people
    edu = accounts.add_user(store, admin, "jiao", "data_steward", "Blue-river-77",
                            department="教育局")
    civ = accounts.add_user(store, admin, "min", "data_steward", "Red-apple-99",
                            department="民政局")
    ann = accounts.session_actor(store, accounts.sign_in(store, "ann", "Green-tea-42").token)
    app = applications.apply(store, ann, "care_subsidy_extract",
                             "Research on the take-up of care subsidies by district", ["sex"], 30)
    with pytest.raises(CityBrainError, match="belongs to 民政局") as exc:
        applications.decide(store, edu, app, True)
    assert exc.value.code == "decide_other_department"
    assert applications.get(store, app)["status"] == "pending"
    assert applications.decide(store, civ, app, True)["status"] == "approved"
    second = applications.apply(store, ann, "care_subsidy_extract",
                                "A second study of the same subsidies by age band", ["sex"], 30)
    assert applications.decide(store, admin, second, False, "duplicate")["status"] == "rejected"
