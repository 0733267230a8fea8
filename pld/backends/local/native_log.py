"""llama.cpp's own log lines, routed to Python logging instead of the user's console.

llama.cpp writes its diagnostics (context sizes, "using full-size SWA cache", …) through one
process-wide callback. llama-cpp-python installs one that prints to stderr and maps the levels
of an older ggml (its WARN becomes ERROR), so warnings that mean nothing to a PLD user reach the
console even with ``verbose=False``. This one logs every line to ``pld.backends.local.llama_cpp``
at DEBUG, and llama.cpp's errors at WARNING: ``pld -v`` shows them all, a plain run only errors.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from typing import Any

LOGGER_NAME = "pld.backends.local.llama_cpp"
logger = logging.getLogger(LOGGER_NAME)

# ggml's enum ggml_log_level in the llama.cpp that llama-cpp-python 0.3.36 bundles (ggml.h).
_ERROR = 4
_CONTINUE = 5  # continues the previous message

_installed: Any = None  # the ctypes callback: kept referenced, or native code calls freed memory
_install_lock = threading.Lock()
_pending = ""  # a message whose line has not ended yet
_pending_error = False
_buffer_lock = threading.Lock()


def _emit(level: int, text: str) -> None:
    """Collect text into lines; log each finished line once, at DEBUG or (errors) WARNING."""
    global _pending, _pending_error
    with _buffer_lock:
        if level != _CONTINUE:
            _pending_error = level == _ERROR
        _pending += text
        if "\n" not in _pending:
            return
        *lines, _pending = _pending.split("\n")
        severity = logging.WARNING if _pending_error else logging.DEBUG
    for line in lines:
        if line.strip():
            logger.log(severity, "%s", line.rstrip())


def route_native_logs() -> None:
    """Install the callback (once per process); call after importing ``llama_cpp``, whose import
    installs its own printing callback."""
    global _installed
    with _install_lock:
        if _installed is not None:
            return
        import llama_cpp

        @llama_cpp.llama_log_callback
        def _callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            try:
                _emit(int(level), text.decode("utf-8", errors="replace") if text else "")
            except Exception:  # noqa: BLE001 - an exception must never cross into native code
                pass

        llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
        _installed = _callback
