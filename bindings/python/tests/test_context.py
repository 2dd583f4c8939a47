"""The call context (SPEC §3a): session, globals and authorization given to
exec reach the process handler at every depth, through the handler's own
exec too; threads never see each other's."""
import threading

import pytest

from yaowasm import YaoError

CTX = {"sid": "SID-42", "global": {"tenant": "t1"}, "authorized": {"user_id": 7}}
EMPTY = {"sid": "", "global": {}, "authorized": None}

CALLS = {
    "depth 1": ["host.who", []],
    "depth 2": ["scripts.b.Call", ["host.who", []]],
    "depth 3": ["scripts.b.Call", ["scripts.a.t.Call", ["host.who", []]]],
    "through the handler": ["host.reenter", []],
}


@pytest.fixture
def who(rt):
    def handler(name, args):
        if name == "host.who":
            return rt.current_context()
        if name == "host.reenter":  # wasm -> Python -> wasm -> Python
            return rt.exec("scripts.b.Call", "host.who", [])
        raise YaoError(404, name)

    rt.set_process_handler(handler)
    return rt


@pytest.mark.parametrize("what", list(CALLS))
def test_context_reaches_the_handler(who, what):
    assert who.exec("scripts.a.t.Call", *CALLS[what], context=CTX) == CTX
    assert who.exec("scripts.a.t.Call", *CALLS[what]) == EMPTY


def test_partial_and_bad_contexts(who):
    assert who.exec("scripts.a.t.Call", "host.who", [], context={"sid": "S"}) == {**EMPTY, "sid": "S"}
    for bad in [{"sid": 1}, {"global": [1]}, {"user": "x"}, ["S"]]:
        with pytest.raises(YaoError) as e:
            who.exec("scripts.a.t.Call", "host.who", [], context=bad)
        assert e.value.code == 400, bad
    with pytest.raises(YaoError) as e:
        who.current_context()
    assert e.value.code == 400 and "no call is running" in e.value.message


def test_timeout_ms_option(rt):
    with pytest.raises(YaoError) as e:
        rt.exec("scripts.a.t.Loop", timeout_ms=30)
    assert e.value.code == 408


def test_threads_keep_their_own_context(who):
    errors = []

    def worker(n):
        for i in range(30):
            ctx = {"sid": f"S{n}-{i}", "global": {"n": n}}
            got = who.exec("scripts.a.t.Call", "scripts.b.Call", ["host.who", []], context=ctx)
            if got != {**ctx, "authorized": None}:
                errors.append((n, i, got))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
