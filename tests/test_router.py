"""Several servers for one role: a litellm.Router spreads the student's calls over them, keeps
prompts that share all but their last input field on one server, and fails over when one dies.

The servers are real: OpenAI-compatible fault servers (tests/fault_server.py) for the routing and
the command line, and llama.cpp servers over the embedded Gemma weights for labels and failover.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pld.backends.base import backend_info
from pld.backends.lm import default_concurrency, make_lm
from pld.backends.options import LMOptions
from pld.backends.endpoint_stats import endpoint_stats
from pld.backends.pool.config import affinity_key, pool_config, split_api_bases
from pld.cli import main
from pld.errors import BackendError, ConfigError
from pld.evaluate import evaluate_program, run_program, student_adapter
from pld.metrics import macro_f1
from pld.programs import truncate_document
from pld.tasks import get_task
from tests.fault_server import requests_seen

pytestmark = pytest.mark.usefixtures("no_ambient_key")


# -- settings and their errors -------------------------------------------------------------------
def test_address_lists_and_router_configs_are_checked_with_the_fix(tmp_path: Path, monkeypatch):
    assert split_api_bases("http://a:1/v1, http://b:2/v1") == ["http://a:1/v1", "http://b:2/v1"]
    with pytest.raises(ConfigError, match="empty address"):
        make_lm("openai/x", LMOptions(api_base="http://a:1/v1,"), check=False)
    with pytest.raises(ConfigError, match="more than once"):
        make_lm("openai/x", LMOptions(api_base="http://a:1/v1,http://a:1/v1"), check=False)
    with pytest.raises(ConfigError, match="'gpu-box:8080' is not a valid address"):
        make_lm("openai/x", LMOptions(api_base="http://a:1/v1,gpu-box:8080"), check=False)
    with pytest.raises(ConfigError, match="in this process"):
        make_lm("local/gemma3-270m", LMOptions(api_base="http://a:1/v1,http://b:2/v1"), check=False)
    with pytest.raises(ConfigError, match="cannot read the router config"):
        make_lm("openai/x", LMOptions(router=str(tmp_path / "missing.yaml")), check=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list:\n  - model_name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        make_lm("openai/x", LMOptions(router=str(bad)), check=False)
    empty = tmp_path / "empty.yaml"
    empty.write_text("router_settings: {}\n")
    with pytest.raises(ConfigError, match="no model_list"):
        make_lm("openai/x", LMOptions(router=str(empty)), check=False)
    config = tmp_path / "router.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: gemma\n    litellm_params: {model: openai/gemma, api_base: 'http://u:secret@gpu-1:8080/v1',"
        " api_key: os.environ/POOL_KEY, max_parallel_requests: 2}\n"
        "  - model_name: gemma\n    litellm_params: {model: ollama/gemma3:4b, api_base: 'http://gpu-2:11434'}\n"
        "  - model_name: other\n    litellm_params: {model: openai/other, api_base: 'http://gpu-3:8080/v1'}\n"
        "router_settings: {routing_strategy: simple-shuffle, cooldown_time: 2}\n")
    with pytest.raises(ConfigError, match=r"\$POOL_KEY, which is not set"):
        make_lm("openai/gemma", LMOptions(router=str(config)), check=False)
    monkeypatch.setenv("POOL_KEY", "k")
    with pytest.raises(ConfigError, match="none is named 'nope'"):
        make_lm("openai/nope", LMOptions(router=str(config)), check=False)
    pool = pool_config("openai/gemma", LMOptions(router=str(config), chat_format="gemma"))
    assert [(e.kind, e.model, e.shown, e.concurrency) for e in pool.endpoints] == [
        ("completions", "gemma", "http://gpu-1:8080/v1", 2), ("ollama", "gemma3:4b", "http://gpu-2:11434", 4)]
    assert pool.endpoints[0].api_key == "k" and dict(pool.settings) == {"routing_strategy": "simple-shuffle",
                                                                       "cooldown_time": 2}
    lm = make_lm("openai/gemma", LMOptions(router=str(config), chat_format="gemma"), check=False)
    info = backend_info(lm)
    assert info.endpoints == ("http://gpu-1:8080/v1", "http://gpu-2:11434") and "secret" not in info.server
    assert default_concurrency(lm) == 6  # 2 + 4: the pool's share is the sum of its endpoints'


def test_prompts_sharing_all_but_their_last_input_field_share_a_key(data_dir):
    """A ContractNLI document's hypotheses share one key (one server's warm cache); documents differ."""
    task = get_task("contract_nli")
    program = task.make_program()
    examples = task.load_splits(data_dir).test
    docs = list(dict.fromkeys(example.doc_id for example in examples))[:2]

    def key(example) -> str | None:
        inputs = dict(example.inputs())
        inputs["document"] = truncate_document(inputs["document"], program.max_document_chars)
        messages = student_adapter().format(program.predict.signature, demos=[], inputs=inputs)
        return affinity_key(messages[0]["content"], [(m["role"], m["content"]) for m in messages[1:]])

    keys = {doc: {key(ex) for ex in examples if ex.doc_id == doc} for doc in docs}
    assert all(len(found) == 1 for found in keys.values()) and keys[docs[0]] != keys[docs[1]]
    assert None not in keys[docs[0]]
    assert affinity_key("", [("user", "no fields here")]) is None  # nothing shared: the Router decides alone


def test_a_short_shared_context_is_not_pinned(data_dir):
    """StereoSet's sentences about one context share a few words: waiting for a busy server would cost
    more than reading them again, so they carry no key and the Router spreads them."""
    task = get_task("stereoset")
    program = task.make_program()
    example = task.load_splits(data_dir).val[0]
    messages = student_adapter().format(program.predictors()[0].signature, demos=[], inputs=dict(example.inputs()))
    assert affinity_key(messages[0]["content"], [(m["role"], m["content"]) for m in messages[1:]]) is None
    long_context = "[[ ## document ## ]]\n" + "clause " * 400 + "\n\n[[ ## hypothesis ## ]]\nshort\n"
    assert affinity_key("rules", [("user", long_context)]) is not None


def test_cli_flags_name_a_pool_per_role():
    from pld.cli import build_parser
    from pld.commands.common import role_options

    args = build_parser().parse_args(["compile", "--api-base", "http://a/v1,http://b/v1", "--teacher-router", "t.yaml",
                                      "--routing-strategy", "simple-shuffle"])
    roles = role_options(args)
    assert (roles.student.api_base, roles.student.router) == ("http://a/v1,http://b/v1", None)
    assert (roles.teacher.router, roles.teacher.routing_strategy) == ("t.yaml", "simple-shuffle")


# -- routing and failover over real servers --------------------------------------------------------
def test_pld_evaluate_spreads_a_student_over_two_servers(serve, capsys, data_dir):
    first, second = serve("ok"), serve("ok")
    code = main(["evaluate", "--task", "stereoset", "--student", "openai/x", "--student-api-base", f"{first},{second}",
                 "--limit", "12", "--no-cache", "--data-dir", str(data_dir)])
    out = capsys.readouterr().out
    assert code == 0
    counts = requests_seen(first)["requests"], requests_seen(second)["requests"]
    assert min(counts) >= 1 and sum(counts) == 12, counts  # both served; every example asked once
    assert f"endpoint {first}: " in out and f"endpoint {second}: " in out and "0 failed" in out


def test_a_hung_server_times_out_is_cooled_down_and_its_calls_finish_elsewhere(serve, data_dir):
    hung, healthy = serve("silent"), serve("ok")
    task = get_task("stereoset")
    examples = task.load_splits(data_dir).val[:8]
    lm = make_lm("openai/x", LMOptions(api_base=f"{hung},{healthy}", cache=False, timeout=1))
    report = evaluate_program(task.make_program(), examples, lm, macro_f1(task.label_field, task.labels), num_threads=None)
    assert report.predictions == ["unrelated"] * len(examples)  # no example lost to the hung server
    by_endpoint = {stats.endpoint: stats for stats in report.endpoints}
    assert by_endpoint[hung].failures >= 1 and by_endpoint[hung].failures == by_endpoint[hung].calls
    assert by_endpoint[healthy].retries == by_endpoint[hung].failures  # each failed call was taken over
    first_tries = sum(stats.calls - stats.retries for stats in report.endpoints)
    assert first_tries == len(examples) and report.calls == len(examples)  # one DSPy call per example


def test_one_documents_hypotheses_stay_on_one_server(serve, data_dir):
    first, second = serve("ok"), serve("ok")
    task = get_task("contract_nli")
    examples = task.load_splits(data_dir).test
    doc = examples[0].doc_id
    hypotheses = [example for example in examples if example.doc_id == doc][:6]
    options = LMOptions(api_base=f"{first},{second}", cache=False, routing_strategy="simple-shuffle")
    pinned = make_lm("openai/x", options)
    run_program(task.make_program(), hypotheses, pinned)
    assert sorted(stats.calls for stats in endpoint_stats(pinned)) == [0, len(hypotheses)]


def test_every_server_down_is_one_clear_backend_error(capsys, data_dir):
    code = main(["evaluate", "--task", "stereoset", "--student", "openai/x", "--student-api-base",
                 "http://127.0.0.1:9/v1,http://127.0.0.1:10/v1", "--limit", "3", "--data-dir", str(data_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "no endpoint of the pool can be reached" in err and err.count("\n") <= 2, err
    lm = make_lm("openai/x", LMOptions(api_base="http://127.0.0.1:9/v1,http://127.0.0.1:10/v1", cache=False,
                                       num_retries=0), check=False)  # they were up at the start
    task = get_task("stereoset")
    with pytest.raises(BackendError) as info:
        run_program(task.make_program(), task.load_splits(data_dir).val[:2], lm)
    message = str(info.value)
    assert message.startswith("openai/x at http://127.0.0.1:9/v1, http://127.0.0.1:10/v1 cannot be reached ("), message
    assert [stats.failures for stats in endpoint_stats(lm)] == [1, 1]  # each tried once, then the call gave up


def test_a_compile_whose_student_servers_all_hang_writes_nothing(serve, capsys, data_dir, tmp_path):
    teacher, hung = serve("ok"), [serve("silent"), serve("silent")]
    art = tmp_path / "art"
    code = main(["compile", "--task", "stereoset", "--teacher", "openai/x", "--student", "openai/x",
                 "--teacher-api-base", teacher, "--student-api-base", ",".join(hung), "--student-timeout", "1",
                 "--retries", "0", "--train", "3", "--val", "4", "--max-repair-rounds", "0", "--no-progress",
                 "--out", str(art), "--data-dir", str(data_dir), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2 and f"openai/x at {hung[0]}, {hung[1]} did not answer within 1 s" in err, err
    assert not art.exists()


def test_refused_credentials_are_not_disguised_as_a_failover(serve, data_dir):
    first, second = serve("401"), serve("401")
    lm = make_lm("openai/x", LMOptions(api_base=f"{first},{second}", cache=False))
    task = get_task("stereoset")
    with pytest.raises(BackendError, match="refused the credentials") as info:
        run_program(task.make_program(), task.load_splits(data_dir).val[:1], lm)
    assert "HTTP 401" in str(info.value) and sum(stats.calls for stats in endpoint_stats(lm)) == 1  # not retried


# -- real llama.cpp servers: the labels of one server, from two, and through a failover ------------
@pytest.fixture(scope="module")
def two_llama_servers(llama_servers):
    return llama_servers(2)


def _labels(lm, examples) -> list[str]:
    predictions, _ = run_program(get_task("stereoset").make_program(), examples, lm)
    return [p.label for p in predictions]


@pytest.fixture(scope="module")
def reference(two_llama_servers, data_dir):
    """The labels one llama.cpp server gives the first StereoSet validation examples (label scoring)."""
    examples = get_task("stereoset").load_splits(data_dir).val[:4]
    lm = make_lm("openai/gemma3-270m", LMOptions(api_base=two_llama_servers[0].base, chat_format="gemma", cache=False))
    return examples, _labels(lm, examples)


@pytest.mark.model
@pytest.mark.parametrize("calibrate", [None, False], ids=["task-default", "plain"])
def test_a_pool_decodes_exactly_like_one_of_its_servers(two_llama_servers, data_dir, calibrate):
    """Same calibration default, same tokenizer discovery, same labels, on the same rows; a pool of
    servers changes throughput, never answers."""
    task = get_task("stereoset")
    examples = task.load_splits(data_dir).val[4:12]
    one = task.default_options("openai/gemma3-270m", LMOptions(api_base=two_llama_servers[0].base, chat_format="gemma",
                                                               calibrate=calibrate, cache=False))
    pooled = task.default_options("openai/gemma3-270m", one.replace(
        api_base=",".join(server.base for server in two_llama_servers), calibrate=calibrate))
    assert pooled.calibrate == one.calibrate == (calibrate is None)  # StereoSet calibrates by default
    single = make_lm("openai/gemma3-270m", one)
    expected = _labels(single, examples)
    report = evaluate_program(task.make_program(), examples, make_lm("openai/gemma3-270m", pooled),
                              macro_f1(task.label_field, task.labels), num_threads=None)
    assert report.predictions == expected
    assert all(stats.calls >= 1 and stats.failures == 0 for stats in report.endpoints), report.endpoints
    assert report.label_decoding == {"paths": {"logit-bias": len(examples)}, "fallbacks": {}}, report.label_decoding
    assert dict(single.engine.label_paths) == {"logit-bias": len(examples)}, single.engine.fallback_reasons


@pytest.mark.model
def test_killing_a_server_mid_run_loses_no_label(llama_servers, two_llama_servers, reference):
    examples, labels = reference
    task = get_task("stereoset")
    doomed = llama_servers(1)[0]
    bases = f"{two_llama_servers[0].base},{doomed.base}"
    lm = make_lm("openai/gemma3-270m", LMOptions(api_base=bases, chat_format="gemma", cache=False))

    def kill_once_it_serves() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and endpoint_stats(lm)[1].calls == 0:
            time.sleep(0.05)
        doomed.kill()

    killer = threading.Thread(target=kill_once_it_serves)
    killer.start()
    report = evaluate_program(task.make_program(), examples, lm, macro_f1(task.label_field, task.labels),
                              num_threads=2)
    killer.join()
    assert report.predictions == labels
    survivor, dead = report.endpoints
    assert dead.failures >= 1 and survivor.retries >= 1, report.endpoints


@pytest.mark.model
def test_an_ollama_student_spreads_over_two_hosts(data_dir, capsys):
    """Two Ollama stand-ins (tests/ollama_standin.py, the real weights behind Ollama's protocol), each
    reached through PLD's own Ollama engine: both answer, every label says its path."""
    from tests.servers import start_ollama_standin

    started = [start_ollama_standin("gemma3-270m", context_length=8192) for _ in range(2)]
    try:
        hosts = [server.base for server in started]
        code = main(["evaluate", "--task", "stereoset", "--student", "ollama/gemma3-270m", "--student-api-base",
                     ",".join(hosts), "--limit", "4", "--no-cache", "--data-dir", str(data_dir)])
        out = capsys.readouterr().out
    finally:
        for server in started:
            server.stop()
    assert code == 0, out
    served = {host: int(line.split(": ")[1].split()[0]) for host in hosts for line in out.splitlines()
              if line.startswith(f"endpoint {host}: ")}
    assert sorted(served) == sorted(hosts) and all(served.values()) and sum(served.values()) == 4, out
