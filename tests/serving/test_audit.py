"""The audit trail on SQLite and on a real PostgreSQL server: append-only rows, a hash chain that catches edits and deletions."""

import csv
import datetime as dt

import pytest
import sqlalchemy as sa

from meddl.serving import AuditTrail, make_engine
from meddl.serving.audit import _row_hash, canonical_sha256
from meddl.serving.db import AUDIT_HEAD, AUDIT_LOG

from .conftest import PATIENTS, serve


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with engine.begin() as connection:  # each test starts from an empty trail on the shared server
        connection.execute(sa.text("DROP TABLE IF EXISTS meddl_audit_log, meddl_audit_head, meddl_users"))
    engine.dispose()
    return url


def _filled(db_url, n=5, **options) -> AuditTrail:
    trail = AuditTrail(make_engine(db_url), **options)
    for i in range(n):
        trail.record(endpoint="POST /v1/models/m/predict", status=200, latency_ms=1.5 + i, user=f"user{i % 2}",
                     model="m" if i < 4 else "other", weights_sha256="ab" * 32, inputs=[{"age": 60 + i}],
                     output=[{"predicted": "sepsis", "probability": 0.7}], n_rows=1)
    return trail


def test_rows_chain_and_filters(db_url):
    trail = _filled(db_url)
    rows = trail.latest()
    assert [r["id"] for r in rows] == [5, 4, 3, 2, 1] and rows[-1]["previous_hash"] == "0" * 64
    assert all(a["previous_hash"] == b["row_hash"] for a, b in zip(rows, rows[1:]))
    assert rows[0]["inputs"] is None and rows[0]["input_sha256"] == canonical_sha256([{"age": 64}])
    assert [r["id"] for r in trail.latest(limit=2)] == [5, 4]
    assert {r["user"] for r in trail.latest(user="user1")} == {"user1"}
    assert [r["id"] for r in trail.latest(model="other")] == [5]
    assert trail.latest(since=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)) == []
    assert len(trail.latest(until=dt.date.today() + dt.timedelta(days=1))) == 5
    assert trail.verify().ok and trail.verify().n_rows == 5


def test_raw_inputs_only_when_asked(db_url):
    trail = _filled(db_url, n=1, store_inputs=True)
    assert trail.latest()[0]["inputs"] == '[{"age": 60}]'


def test_input_hash_is_canonical():
    assert canonical_sha256({"b": 1, "a": [1.5, "x"]}) == canonical_sha256({"a": [1.5, "x"], "b": 1})
    assert canonical_sha256({"a": 1}) != canonical_sha256({"a": 2})


@pytest.mark.parametrize("tamper, found", [
    (lambda c: c.execute(sa.update(AUDIT_LOG).where(AUDIT_LOG.c.id == 3).values(output='[{"predicted": "no"}]')),
     "Row 3 was changed"),
    (lambda c: c.execute(sa.update(AUDIT_LOG).where(AUDIT_LOG.c.id == 2).values(user="someone else")),
     "Row 2 was changed"),
    (lambda c: c.execute(sa.delete(AUDIT_LOG).where(AUDIT_LOG.c.id == 3)), "Row 4 does not follow"),
    (lambda c: c.execute(sa.delete(AUDIT_LOG).where(AUDIT_LOG.c.id == 5)), "newest rows were deleted"),
    (lambda c: c.execute(sa.delete(AUDIT_LOG)), "newest rows were deleted"),
])
def test_edited_or_deleted_rows_are_detected(db_url, tamper, found):
    trail = _filled(db_url)
    with trail.engine.begin() as connection:
        tamper(connection)
    result = trail.verify()
    assert not result.ok and found in result.message


def test_export_csv(db_url, tmp_path):
    trail = _filled(db_url, n=3)
    assert trail.export_csv(tmp_path / "audit.csv") == 3
    rows = list(csv.DictReader(open(tmp_path / "audit.csv")))
    assert [r["id"] for r in rows] == ["1", "2", "3"] and rows[0]["row_hash"] == trail.latest()[-1]["row_hash"]
    assert trail.export_csv(tmp_path / "none.csv", since="2999-01-01") == 0


def test_the_app_audits_into_either_database(run_dirs, db_url):
    app = serve(run_dirs, db_url, rate_limit_per_minute=0, audit_inputs=True)
    for _ in range(3):
        assert app.client.post("/v1/models/sepsis/predict", headers=app.headers(),
                               json=PATIENTS["sepsis"]).status_code == 200
    rows = app.app.state.audit.latest()
    assert len(rows) == 3 and '"age": 70' in rows[0]["inputs"]
    assert app.client.get("/v1/audit/verify", headers=app.headers("admin")).json()["ok"] is True
    app.app.state.engine.dispose()


def test_concurrent_writers_keep_one_chain(db_url):
    """Four engines (as four worker processes would hold) and eight threads append at once."""
    from concurrent.futures import ThreadPoolExecutor

    trails = [AuditTrail(make_engine(db_url)) for _ in range(4)]

    def write(i):
        for k in range(15):
            trails[i % 4].record(endpoint="POST /x", status=200, latency_ms=1.0, user=f"u{i}", inputs={"k": k})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    result = trails[0].verify()
    assert result.ok and result.n_rows == 120, result.message
    assert sorted(r["id"] for r in trails[0].latest(limit=200)) == list(range(1, 121))


def test_driver_errors_on_the_request_path_are_sqlalchemy_errors(tmp_path):
    """The audit row is written through a driver cursor; its errors must still be SQLAlchemy's (answered 503)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE meddl_audit_log")
    with pytest.raises(sa.exc.OperationalError, match="meddl_audit_log"):
        AuditTrail(engine).record(endpoint="POST /v1/models/m/predict", status=200, latency_ms=1.0)


def _rewrite_with_consistent_hashes(trail, row_id, **changes):
    """What someone with write access to the database could do: change a row, then recompute every hash after it."""
    with trail.engine.begin() as connection:
        rows = [dict(r) for r in connection.execute(sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.id)).mappings()]
        previous = "0" * 64
        for row in rows:
            row.update(changes if row["id"] == row_id else {}, previous_hash=previous)
            row["row_hash"] = previous = _row_hash(row)
            connection.execute(sa.update(AUDIT_LOG).where(AUDIT_LOG.c.id == row["id"]).values(**row))
        connection.execute(sa.update(AUDIT_HEAD).where(AUDIT_HEAD.c.id == 1).values(last_hash=previous))


def test_an_anchor_finds_a_trail_rewritten_with_recomputed_hashes(db_url):
    trail = _filled(db_url, n=3)
    anchor = trail.anchor()
    assert anchor["n_rows"] == 3 and anchor["last_hash"] == trail.latest()[0]["row_hash"]
    _filled(db_url, n=2)  # the trail grows after the anchor
    assert trail.verify([anchor]).ok and "1 anchor(s) matched" in trail.verify([anchor]).message
    _rewrite_with_consistent_hashes(trail, 2, user="someone else")
    assert trail.verify().ok  # without an anchor the rewrite cannot be seen: the chain has no secret
    result = trail.verify([anchor])
    assert not result.ok and "does not match the anchor" in result.message
    with pytest.raises(ValueError, match="Anchor 1 must hold 'n_rows' and 'last_hash'"):
        trail.verify([{"rows": 3}])


def test_an_anchor_beyond_the_trail_finds_deleted_rows_with_a_rewritten_head(db_url):
    trail = _filled(db_url, n=4)
    anchor = trail.anchor()
    with trail.engine.begin() as connection:
        last = connection.execute(sa.select(AUDIT_LOG.c.previous_hash).where(AUDIT_LOG.c.id == 4)).scalar_one()
        connection.execute(sa.delete(AUDIT_LOG).where(AUDIT_LOG.c.id == 4))
        connection.execute(sa.update(AUDIT_HEAD).where(AUDIT_HEAD.c.id == 1).values(n_rows=3, last_hash=last))
    assert trail.verify().ok
    result = trail.verify([anchor])
    assert not result.ok and "An anchor recorded 4 rows but the trail now holds 3" in result.message
