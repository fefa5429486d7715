"""``devmgr registry verify | grants``, and a registry failing in the middle of a command, on
SQLite and PostgreSQL, as an auditor and a DBA would run them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from devmgr.cli import app
from devmgr.filings import save
from devmgr.registry import Registry, grant_statements
from tests.devmgr.filings.factory import make_record
from tests.devmgr.registry.test_audit_log import drop_triggers, fill
from tests.postgres import raw, restricted_role

runner = CliRunner()


def verify(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["registry", "verify", "--registry", url, *args])
    return result.exit_code, result.output


def test_verify_an_intact_log_and_keep_its_head(url: str) -> None:
    with Registry.open(url) as registry:
        entries = fill(registry, 4)
    code, output = verify(url)
    assert code == 0, output
    assert f"intact, 4 entries; head 4:{entries[-1].hash}" in output
    assert verify(url, "--expected-head", f"4:{entries[-1].hash}")[0] == 0


def test_verify_names_the_first_bad_entry_as_stored(url: str) -> None:
    with Registry.open(url) as registry:
        entries = fill(registry, 5)
    raw(url, *drop_triggers(url), "UPDATE audit_log SET purpose = 'private use' WHERE seq = 3")
    code, output = verify(url)
    assert code == 1
    assert "BROKEN at entry 3 (hash mismatch): entry 3 was altered after it was written" in output
    assert "entry 3 as stored: " in output
    assert "purpose='private use'" in output
    assert f"last good hash {entries[1].hash}" in output


def test_verify_finds_deleted_last_entries_against_a_kept_head(url: str) -> None:
    with Registry.open(url) as registry:
        entries = fill(registry, 5)
    raw(url, *drop_triggers(url), "DELETE FROM audit_log WHERE seq = 5")
    assert verify(url)[0] == 0  # the chain alone cannot tell
    code, output = verify(url, "--expected-head", f"5:{entries[-1].hash}")
    assert code == 1
    assert "(head mismatch)" in output
    assert "is missing (the log ends at seq 4)" in output


def test_verify_refuses_bad_input(tmp_path: Path) -> None:
    code, output = verify(str(tmp_path / "nowhere.sqlite"))
    assert (code, "no registry at" in output) == (2, True)
    assert not (tmp_path / "nowhere.sqlite").exists()  # not created by looking
    Registry.open(tmp_path / "r.sqlite").close()
    code, output = verify(str(tmp_path / "r.sqlite"), "--expected-head", "5:abc")
    assert (code, "give SEQ:HASH" in output) == (2, True)


def test_grants_prints_what_the_restricted_role_needs() -> None:
    result = runner.invoke(app, ["registry", "grants", "camfleet", "--schema", "cams"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"{s};" for s in grant_statements("camfleet",
                                                                             "cams")]
    assert 'GRANT SELECT, INSERT ON "cams"."audit_log" TO "camfleet";' in result.stdout
    bad = runner.invoke(app, ["registry", "grants", "camfleet; DROP TABLE x"])
    assert bad.exit_code == 2


def test_a_privilege_missing_mid_command_is_one_line_and_exit_2(pg_url: str,
                                                                 tmp_path: Path) -> None:
    """The import reads the filings in force, then cannot write: no traceback."""
    Registry.open(pg_url).close()
    filings = tmp_path / "filings.csv"
    save([make_record()], filings)

    def without_filings(role: str, schema: str) -> list[str]:
        return [s.replace("SELECT, INSERT ON", "SELECT ON") if '"filings"' in s else s
                for s in grant_statements(role, schema)]

    with restricted_role(pg_url, without_filings) as app_url:
        result = runner.invoke(app, ["filings", "import", str(filings), "--registry", app_url])
    assert result.exit_code == 2
    assert "error: registry postgresql+psycopg://" in result.output
    assert "cannot store filings: InsufficientPrivilege: permission denied for table " \
           "filings" in result.output
    assert "Traceback" not in result.output
