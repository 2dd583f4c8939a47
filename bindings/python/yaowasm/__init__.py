"""yaowasm: run Yao scripts compiled to WebAssembly from Python.

A ctypes binding over libyaowasm (include/yaowasm.h); no compiled extension.

    from yaowasm import Runtime, YaoError
    with Runtime({"timeout_ms": 500}) as rt:
        rt.load_dir("scripts")
        rt.exec("scripts.hello.Greet", "world")
"""
from .runtime import LOG_LEVELS, TRACE, Problem, Runtime, YaoError, version

__all__ = ["Runtime", "YaoError", "Problem", "LOG_LEVELS", "TRACE", "version"]
