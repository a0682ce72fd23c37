"""Rasa's API token goes from the environment into Rasa's own argv, never onto a command line."""

from __future__ import annotations

import logging
import sys

import pytest

from rasa_addons import serve
from rasa_addons.serve import arguments

TOKEN = "a-long-enough-token-123"


def test_the_token_reaches_rasa_with_the_api() -> None:
    argv = ["run", "--model", "m.tar.gz", "--enable-api", "--port", "5005"]
    assert arguments(argv, TOKEN) == ["rasa", *argv, f"--auth-token={TOKEN}"]


@pytest.mark.parametrize("token", [TOKEN, "-" + TOKEN, "--" + TOKEN])
def test_rasas_own_parser_reads_the_token_whatever_it_starts_with(token: str) -> None:
    """secrets.token_urlsafe starts one token in 64 with "-": Rasa then refused to start (found by CI)."""
    from rasa.__main__ import create_argument_parser

    argv = ["run", "--model", "m.tar.gz", "--enable-api", "--port", "5005"]
    parsed = create_argument_parser().parse_args(arguments(argv, token)[1:])
    assert parsed.auth_token == token and parsed.enable_api and parsed.port == 5005


def test_no_api_no_token_needed() -> None:
    assert arguments(["run", "--model", "m.tar.gz"], "") == ["rasa", "run", "--model", "m.tar.gz"]


@pytest.mark.parametrize("token", ["", "short"])
def test_the_api_without_a_real_token_is_refused(token: str) -> None:
    with pytest.raises(SystemExit, match="HEMU_RASA_TOKEN"):
        arguments(["run", "--enable-api"], token)


@pytest.mark.parametrize("given", [["--auth-token", TOKEN], [f"--auth-token={TOKEN}"], ["-t", TOKEN]])
def test_a_token_on_the_command_line_is_refused(given: list[str]) -> None:
    with pytest.raises(SystemExit, match="never on the command line"):
        arguments(["run", "--enable-api", *given], TOKEN)


def test_rasas_own_log_lines_are_scrubbed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """What Rasa (or a library inside it) logs passes through hemu.logs: a phone number is masked, a
    newline cannot start a forged line."""
    import rasa.__main__

    factory = logging.getLogRecordFactory()  # put back afterwards: other tests see logging untouched
    monkeypatch.setattr(sys, "argv", ["serve", "run", "--model", "m.tar.gz"])
    monkeypatch.setattr(
        rasa.__main__,
        "main",
        lambda: logging.getLogger("rasa.core").warning("text %r\nINFO forged", "call 13800001234"),
    )
    try:
        with caplog.at_level(logging.WARNING, logger="rasa.core"):
            serve.main()
    finally:
        logging.setLogRecordFactory(factory)
    [line] = [r.getMessage() for r in caplog.records if r.name == "rasa.core"]
    assert "13800001234" not in line and "[phone]" in line and "\n" not in line
