"""Users and keys (only hashes stored), and the `meddl users`, `meddl audit` and `meddl serve` refusals on the command line."""

import io
import json
import shutil

import pytest
import sqlalchemy as sa

from meddl import ConfigError
from meddl.cli import main
from meddl.serving import AuditTrail, User, UserStore, make_engine
from meddl.serving.db import AUDIT_LOG, USERS


@pytest.fixture
def store(tmp_path):
    return UserStore(make_engine(f"sqlite:///{tmp_path / 'users.db'}"))


def test_keys_and_passwords_are_stored_only_as_scrypt_hashes(store):
    key = store.add("dr.lee", "clinician")
    store.set_password("dr.lee", "correct horse battery")
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(USERS)).mappings().one()
    assert key.split("_")[2] not in str(dict(row)) and "correct horse" not in str(dict(row))
    assert row["key_hash"].startswith("scrypt$") and row["password_hash"].startswith("scrypt$")
    assert store.authenticate_key(key) == User("dr.lee", "clinician")
    assert store.authenticate_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.authenticate_key("mdl_nothing") is None and store.authenticate_key(None) is None
    assert store.authenticate_password("dr.lee", "correct horse battery") == User("dr.lee", "clinician")
    assert store.authenticate_password("dr.lee", key) == User("dr.lee", "clinician")
    assert store.authenticate_password("dr.lee", "wrong password") is None
    assert store.authenticate_password("nobody", "correct horse battery") is None


def test_revoke_and_reissue(store):
    first = store.add("dr.lee", "clinician")
    with pytest.raises(ConfigError, match="already exists"):
        store.add("dr.lee", "admin")
    store.revoke("dr.lee")
    assert store.authenticate_key(first) is None and store.list()[0]["revoked"]
    second = store.add("dr.lee", "admin")
    assert store.authenticate_key(first) is None and store.authenticate_key(second).role == "admin"
    with pytest.raises(ConfigError, match="No active user named 'ghost'"):
        store.revoke("ghost")


def test_bad_names_roles_and_passwords(store):
    with pytest.raises(ConfigError, match="user name"):
        store.add("a b", "clinician")
    with pytest.raises(ConfigError, match=r"'role' must be one of \['clinician', 'admin'\]"):
        store.add("ok", "nurse")
    store.add("ok", "clinician")
    with pytest.raises(ConfigError, match="at least 10 characters"):
        store.set_password("ok", "short")


def test_users_and_audit_commands(tmp_path, capsys, monkeypatch):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["users", "add", "root", "--role", "admin", "--db", db]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert UserStore(make_engine(db)).authenticate_key(key) == User("root", "admin")
    assert main(["users", "add", "dr.lee", "--db", db]) == 0
    assert main(["users", "list", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert "dr.lee" in listed and "clinician" in listed and "scrypt" not in listed
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["users", "passwd", "dr.lee", "--password-stdin", "--db", db]) == 0
    assert main(["users", "revoke", "dr.lee", "--db", db]) == 0
    assert main(["users", "revoke", "dr.lee", "--db", db]) == 1
    assert "No active user named 'dr.lee'" in capsys.readouterr().err

    trail = AuditTrail(make_engine(db))
    for i in range(3):
        trail.record(endpoint="POST /x", status=200, latency_ms=1.0, user="root", inputs={"i": i})
    assert main(["audit", "verify", "--db", db]) == 0
    assert "All 3 audit rows are intact" in capsys.readouterr().out
    assert main(["audit", "export", "--db", db, "--since", "2000-01-01", "--out", str(tmp_path / "a.csv")]) == 0
    assert len((tmp_path / "a.csv").read_text().strip().splitlines()) == 4
    anchors = tmp_path / "anchors.jsonl"
    for _ in range(2):  # appended, one JSON line each time
        assert main(["audit", "anchor", "--db", db, "--out", str(anchors)]) == 0
    assert "Anchored 3 audit rows" in capsys.readouterr().out and len(anchors.read_text().splitlines()) == 2
    assert main(["audit", "anchor", "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)["n_rows"] == 3
    assert main(["audit", "verify", "--db", db, "--anchors", str(anchors)]) == 0
    assert "1 anchor(s) matched" in capsys.readouterr().out  # two anchors of one head pin one length
    (tmp_path / "bad.jsonl").write_text("not json\n")
    assert main(["audit", "verify", "--db", db, "--anchors", str(tmp_path / "bad.jsonl")]) == 1
    assert "--anchors: Line 1 of the anchors file" in capsys.readouterr().err
    with trail.engine.begin() as connection:
        connection.execute(sa.update(AUDIT_LOG).where(AUDIT_LOG.c.id == 2).values(status=500))
    assert main(["audit", "verify", "--db", db]) == 1
    assert "Row 2 was changed" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["verify", "anchor", "export"])
def test_audit_commands_never_make_a_new_empty_trail(tmp_path, capsys, monkeypatch, command):
    monkeypatch.chdir(tmp_path)  # the default --db, meddl-serve.db, is relative to this folder
    extra = ["--out", str(tmp_path / "a.csv")] if command == "export" else []
    missing = tmp_path / "no-folder" / "serve.db"
    assert main(["audit", command, "--db", f"sqlite:///{missing}", *extra]) == 1
    assert f"No database at '{missing}'" in capsys.readouterr().err
    assert main(["audit", command, *extra]) == 1
    assert "No database at 'meddl-serve.db' (the 'db' URL 'sqlite:///meddl-serve.db', the default" in \
        capsys.readouterr().err
    assert not missing.parent.exists() and not (tmp_path / "meddl-serve.db").exists()  # nothing was created
    other = sa.create_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with other.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (x TEXT)")
    assert main(["audit", command, "--db", f"sqlite:///{tmp_path / 'other.db'}", *extra]) == 1
    assert "holds no meddl audit trail (no table 'meddl_audit_log')" in capsys.readouterr().err
    assert sa.inspect(other).get_table_names() == ["notes"]


def test_serve_refuses_to_start_without_users_or_with_a_tampered_run(trained, tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["serve", str(trained("sepsis")), "--db", db]) == 1
    assert "meddl users add admin --role admin" in capsys.readouterr().err
    assert main(["serve", str(trained("sepsis")), "--db", db, "--insecure-no-auth", "--host", "0.0.0.0"]) == 1
    assert "only on a loopback host" in capsys.readouterr().err
    copy = shutil.copytree(trained("sepsis"), tmp_path / "sepsis")
    (copy / "model" / "model.safetensors").write_bytes(b"tampered")
    assert main(["serve", f"triage={copy}", "--db", db]) == 1
    err = capsys.readouterr().err
    assert "sepsis" in err and ("checksum" in err or "sha256" in err)


def test_run_names_from_the_command_line(tmp_path):
    from meddl.serving.cli_commands import parse_run_arguments

    assert parse_run_arguments(["runs/sepsis", "triage=runs/v2"]) == {"sepsis": "runs/sepsis", "triage": "runs/v2"}
    with pytest.raises(ConfigError, match="Two runs are named 'sepsis'"):
        parse_run_arguments(["a/sepsis", "b/sepsis"])
    with pytest.raises(ConfigError, match="at least one run"):
        parse_run_arguments([])
