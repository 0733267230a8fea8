"""Backend faults are errors, not answers: real misbehaving servers on loopback (tests/fault_server.py).

Each server is a separate process; the CLI runs in-process and must exit 2 with one line that
names the server, without a traceback or a credential, and must never replace an artifact.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import time
from pathlib import Path

import pytest

from pld.cli import main
from pld.errors import BackendError, ConfigError
from pld.faults import fault_kind, is_backend_fault, redact, retry_transient, split_credentials
from pld.tasks import get_task
from tests.fault_server import requests_seen

REPO = Path(__file__).resolve().parents[1]

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(capsys: pytest.CaptureFixture, data_dir: Path, *args: str) -> tuple[int, str]:
    code = main([*args, "--data-dir", str(data_dir), "--no-cache"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def evaluate(capsys: pytest.CaptureFixture, data_dir: Path, api_base: str, *extra: str) -> tuple[int, str]:
    return run_cli(capsys, data_dir, "evaluate", "--task", "stereoset", "--student", "openai/x",
                   "--api-base", api_base, "--limit", "4", *extra)


def assert_one_line_error(code: int, output: str, *, names: str, says: str) -> str:
    assert code == 2, output
    assert "Traceback" not in output
    errors = [line[line.index("error: "):] for line in output.splitlines() if "error: " in line]
    assert len(errors) == 1, output
    assert names in errors[0] and says in errors[0], errors[0]
    return errors[0]


pytestmark = pytest.mark.usefixtures("no_ambient_key")


def test_redact_strips_userinfo_keys_and_tokens():
    text = ("http://user:p%40ss@h:8/v1?api_key=abc&x=1&token=t0k https://k@h/ Bearer abc123def456 "
            "sk-abcdefghijklmnop")
    shown = redact(text)
    for secret in ("user", "p%40ss", "abc", "t0k", "k@", "abc123def456", "sk-abcdefghijklmnop"):
        assert secret not in shown
    assert "http://h:8/v1?api_key=***&x=1&token=***" in shown


def test_userinfo_becomes_a_basic_auth_header():
    url, headers = split_credentials("http://user:p%40ss@[::1]:8000/v1")
    assert url == "http://[::1]:8000/v1"
    assert headers == {"Authorization": "Basic dXNlcjpwQHNz"}  # user:p@ss
    assert split_credentials("http://h/v1") == ("http://h/v1", {})


def test_parse_failures_are_answers_and_server_faults_are_not():
    import dspy
    from dspy.utils.exceptions import AdapterParseError, ContextWindowExceededError, LMAuthError, LMServerError

    parse = AdapterParseError("ChatAdapter", dspy.Signature("a -> b"), "garbled")
    assert not is_backend_fault(parse)
    assert not is_backend_fault(ContextWindowExceededError(model="x"))
    assert not is_backend_fault(ValueError("a bug in one example"))
    assert fault_kind(LMAuthError("no", status=401)) == "auth"
    try:  # a server error while DSPy re-asks after a garbled answer belongs to that answer
        try:
            raise parse
        except AdapterParseError:
            raise LMServerError("json_schema unsupported", status=500)  # noqa: B904
    except LMServerError as exc:
        assert not is_backend_fault(exc)


def test_retry_transient_backs_off_then_gives_up():
    from dspy.utils.exceptions import LMAuthError, LMServerError

    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise LMServerError("busy", status=503)
        return "ok"

    assert retry_transient(flaky, retries=2, server="s", first_delay=0) == "ok" and len(calls) == 3
    calls.clear()
    with pytest.raises(BackendError, match="s kept failing with a server error .HTTP 503, after 1 retry"):
        retry_transient(flaky, retries=1, server="s", first_delay=0)
    with pytest.raises(LMAuthError):  # not transient: the caller words it
        retry_transient(lambda: (_ for _ in ()).throw(LMAuthError("no", status=401)), retries=3, server="s")


def test_refused_credentials_abort_with_one_line_and_no_password(serve, capsys, data_dir):
    base = serve("401")
    code, output = evaluate(capsys, data_dir, base.replace("http://", "http://user:secret@"))
    line = assert_one_line_error(code, output, names=base, says="refused the credentials")
    assert "secret" not in output and "HTTP 401" in line
    assert requests_seen(base)["requests"] == 1  # not retried


def test_unknown_model_or_path_aborts(serve, capsys, data_dir):
    base = serve("404")
    code, output = evaluate(capsys, data_dir, base, "--threads", "4")
    assert_one_line_error(code, output, names=base, says="has no such model or path")
    assert requests_seen(base)["requests"] <= 4  # queued examples are not sent after the fault


def test_connection_refused_aborts_at_once(capsys, data_dir):
    base = f"http://user:secret@127.0.0.1:{closed_port()}/v1"
    started = time.perf_counter()
    code, output = evaluate(capsys, data_dir, base)
    assert time.perf_counter() - started < 30
    assert_one_line_error(code, output, names=redact(base), says="cannot be reached")
    assert "secret" not in output


@pytest.mark.parametrize("api_base", ["http://127.0.0.1:port/v1", "localhost:8000", "http://user:secret@/v1",
                                      "http://user:secret/v1"])
def test_malformed_url_is_a_config_error(capsys, data_dir, api_base):
    code, output = evaluate(capsys, data_dir, api_base)
    assert_one_line_error(code, output, names="--api-base", says="not a valid address")
    assert "secret" not in output


@pytest.mark.parametrize("chat_format", [None, "gemma"])
def test_a_silent_server_times_out(serve, capsys, data_dir, chat_format):
    base = serve("silent")
    extra = ["--chat-format", chat_format] if chat_format else []
    started = time.perf_counter()
    code, output = evaluate(capsys, data_dir, base, "--timeout", "1", "--retries", "0", *extra)
    assert time.perf_counter() - started < 60
    assert_one_line_error(code, output, names=base, says="did not answer within 1 s")


@pytest.mark.parametrize("chat_format", [None, "gemma"])
def test_a_transient_server_error_is_retried(serve, capsys, data_dir, chat_format):
    base = serve("flaky")  # HTTP 500 twice, then answers
    extra = ["--chat-format", chat_format, "--no-calibrate"] if chat_format else []  # one request per example
    code, output = evaluate(capsys, data_dir, base, "--retries", "2", *extra)
    assert code == 0, output
    assert "format failures   0" in output
    assert requests_seen(base)["requests"] == 4 + 2


def test_rate_limits_are_retried_then_abort(serve, capsys, data_dir):
    base = serve("429")
    code, output = evaluate(capsys, data_dir, base, "--retries", "1")
    assert_one_line_error(code, output, names=base, says="rate-limiting the requests (HTTP 429, after 1 retry")
    assert requests_seen(base)["requests"] == 2


def test_served_completions_path_aborts_on_refused_credentials(serve, capsys, data_dir):
    base = serve("401")
    code, output = evaluate(capsys, data_dir, base.replace("http://", "http://user:secret@"), "--chat-format", "gemma")
    assert_one_line_error(code, output, names=base, says="refused the credentials")
    assert "secret" not in output


@pytest.mark.parametrize("chat_format", [None, "gemma"])
def test_userinfo_works_as_basic_auth(serve, capsys, data_dir, chat_format):
    base = serve("basic")  # 401 unless the Basic header carries user:secret
    extra = ["--chat-format", chat_format] if chat_format else []
    code, output = evaluate(capsys, data_dir, base.replace("http://", "http://user:secret@"), *extra)
    assert code == 0, output
    assert "secret" not in output
    assert set(requests_seen(base)["authorizations"]) == {"Basic dXNlcjpzZWNyZXQ="}


def _hashes(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("mode", ["dead", "401"])
def test_a_failed_compile_leaves_the_artifact_untouched(serve, capsys, data_dir, tmp_path, mode):
    committed = REPO / "artifacts" / "stereoset-gemma3-270m"
    art = tmp_path / "art"
    if committed.is_dir():
        shutil.copytree(committed, art)
    else:
        art.mkdir()
        (art / "manifest.json").write_text("{}", encoding="utf-8")
    before, entries = _hashes(art), sorted(p.name for p in tmp_path.iterdir())
    base = serve("401") if mode == "401" else f"http://127.0.0.1:{closed_port()}/v1"
    code, output = run_cli(capsys, data_dir, "compile", "--task", "stereoset", "--teacher", "openai/x",
                           "--student", "openai/x", "--api-base", base, "--train", "4", "--val", "4",
                           "--out", str(art))
    assert_one_line_error(code, output, names=base, says="refused the credentials" if mode == "401" else "reached")
    assert _hashes(art) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == entries


def test_a_teacher_garbling_most_traces_aborts_with_the_count(serve, data_dir):
    """One garbled trace is skipped (and reported); a teacher that garbles more than half of at
    least three is broken, and the run stops with how many failed, before the student is asked."""
    from pld.backends.lm import make_lm
    from pld.backends.options import LMOptions
    from pld.metrics import macro_f1
    from pld.optimizer import PLD

    teacher_base, student_base = serve("labelonly"), serve("401")  # a label where a trace is asked for
    task = get_task("stereoset")
    splits = task.load_splits(str(data_dir), seed=0)
    teacher = make_lm("openai/x", LMOptions(api_base=teacher_base, cache=False))
    student = make_lm("openai/x", LMOptions(api_base=student_base, cache=False))
    optimizer = PLD(teacher_lm=teacher, student_lm=student, metric=macro_f1(task.label_field, task.labels),
                    max_candidates=2, max_rules=1, progress=False)
    with pytest.raises(BackendError, match="the teacher failed on 3 of 3 traces") as info:
        optimizer.compile(task.make_program(), trainset=splits.train[:3], valset=splits.val[:4])
    assert student_base not in str(info.value)
    assert requests_seen(teacher_base)["requests"] >= 3  # every example was asked before giving up


def test_a_server_refusing_the_json_fallback_skips_that_trace_only(serve, data_dir):
    from pld.backends.lm import make_lm
    from pld.backends.options import LMOptions
    from pld.pipeline.teacher import Teacher
    from pld.pipeline.traces import collect_traces

    base = serve("nojson")  # garbled teacher answers; DSPy's JSON re-ask gets HTTP 500
    task = get_task("stereoset")
    examples = task.load_splits(str(data_dir), seed=0).train[:2]
    teacher_lm = make_lm("openai/x", LMOptions(api_base=base, cache=False, num_retries=0))
    traces = collect_traces(Teacher(task.labels), teacher_lm, examples, task="classify", label_field="label",
                            progress=False)
    assert traces == []
    assert requests_seen(base)["requests"] == 2 * len(examples)  # every example: answer, then JSON re-ask


def test_ollama_messages_carry_no_password(capsys, data_dir):
    base = f"http://user:secret@127.0.0.1:{closed_port()}"
    code, output = run_cli(capsys, data_dir, "evaluate", "--task", "stereoset", "--student", "ollama/gemma3:4b",
                           "--api-base", base, "--limit", "2")
    assert_one_line_error(code, output, names="127.0.0.1", says="ollama serve")
    assert "secret" not in output


def test_options_are_checked():
    from pld.backends.lm import make_lm
    from pld.backends.options import LMOptions

    with pytest.raises(ConfigError, match="timeout"):
        make_lm("openai/x", LMOptions(api_base="http://127.0.0.1:1/v1", timeout=0), check=False)
    with pytest.raises(ConfigError, match="retries"):
        make_lm("openai/x", LMOptions(api_base="http://127.0.0.1:1/v1", num_retries=-1), check=False)


def test_a_server_that_names_no_turn_format_gets_the_chat_route_with_the_fix_said(serve, caplog):
    from pld.backends.base import backend_info
    from pld.backends.lm import make_lm
    from pld.backends.options import LMOptions

    base = serve("ok")
    with caplog.at_level("WARNING", logger="pld.backends.lm"):
        lm = make_lm("openai/x", LMOptions(api_base=base))
    assert backend_info(lm).chat_format is None
    assert "does not say which turn format x uses (it has no tokenize endpoint and no chat template)" in caplog.text
    assert "pass --chat-format gemma or --chat-format chatml" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="pld.backends.lm"):
        make_lm("openai/x", LMOptions(api_base=base, chat_format="chat"))
    assert "turn format" not in caplog.text  # said: the chat route, no question asked

