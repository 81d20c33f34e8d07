"""Host program of a Cortex-style Python predictor, run by predictor-runtime (runtime/hosts/python-worker.ts).

It loads one predictor file (`class PythonPredictor` with `__init__(self, config)` and `predict(self, payload)` or
`predict(self, payload, request_id)`), then runs predictions the runtime sends over the pipe. Every message is a JSON
header line; a payload or a result follows its header as `length` raw bytes of JSON text, so neither is escaped into
a string nor parsed twice. The predictor's prints go to stderr, which the runtime logs; stdout is the pipe.
"""

import importlib.util
import inspect
import json
import os
import sys
import threading
import traceback

HOST_FILE = os.path.abspath(__file__)


def main():
    # Keep fds 0 and 1 for the protocol; a predictor that prints (even from C code) writes to stderr instead, and
    # one that reads stdin reads nothing.
    protocol_in = os.fdopen(os.dup(0), "rb")
    protocol_out = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)
    write_lock = threading.Lock()

    def send(header, body=None):
        data = json.dumps(header, separators=(",", ":")).encode("utf-8") + b"\n"
        if body is not None:
            data += body
        with write_lock:
            protocol_out.write(data)
            protocol_out.flush()

    def receive():
        line = protocol_in.readline()
        if not line:
            sys.exit(0)  # The runtime closed the pipe: it is shutting down.
        header = json.loads(line)
        if "length" in header:
            header["body"] = protocol_in.read(header["length"])
        return header

    load = receive()
    path = load["path"]
    predictor_class = load_class(path, send)
    if predictor_class is None:
        return
    send({"type": "loaded"})

    predictor = None
    takes_request_id = False
    pool = None
    while True:
        message = receive()
        kind = message["type"]
        if kind == "setup":
            try:
                predictor = predictor_class(load["config"])
                takes_request_id = "request_id" in inspect.signature(predictor.predict).parameters
            except BaseException as error:  # noqa: B902 - SystemExit in __init__ is a start-up failure too
                send({"type": "failed", "phase": "setup", "message": describe_startup_error(error, path, "PythonPredictor(config)")})
                return
            if load.get("threads", 1) > 1:
                from concurrent.futures import ThreadPoolExecutor

                pool = ThreadPoolExecutor(max_workers=load["threads"])
            send({"type": "ready"})
        elif kind == "predict":
            if pool is None:
                predict(predictor, takes_request_id, message, send)
            else:
                pool.submit(predict, predictor, takes_request_id, message, send)
        # "cancel": Python cannot interrupt a running call; the runtime replaces the process if it does not return.


def load_class(path, send):
    """Imports the predictor file and returns its PythonPredictor class, or reports why it cannot and returns None."""
    folder = os.path.dirname(path)
    sys.path.insert(0, folder)  # A predictor imports the modules beside it, as under Cortex.
    try:
        spec = importlib.util.spec_from_file_location("predictor", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["predictor"] = module
        spec.loader.exec_module(module)
    except SyntaxError as error:
        send({"type": "failed", "phase": "load", "message": "%s:%s: %s: %s" % (error.filename or path, error.lineno, type(error).__name__, error.msg)})
        return None
    except BaseException as error:  # noqa: B902
        send({"type": "failed", "phase": "load", "message": describe_startup_error(error, path, "importing it")})
        return None
    predictor_class = getattr(module, "PythonPredictor", None)
    if not inspect.isclass(predictor_class):
        defined = sorted(name for name, value in vars(module).items() if inspect.isclass(value) and value.__module__ == "predictor")
        send({
            "type": "failed",
            "phase": "load",
            "message": "%s: defines no class PythonPredictor (classes defined: %s); write `class PythonPredictor:` with "
            "__init__(self, config) and predict(self, payload)" % (path, ", ".join(defined) or "none"),
        })
        return None
    if not callable(getattr(predictor_class, "predict", None)):
        send({"type": "failed", "phase": "load", "message": "%s: class PythonPredictor has no predict(self, payload) method" % path})
        return None
    return predictor_class


def predict(predictor, takes_request_id, message, send):
    request_id = message["request_id"]
    try:
        payload = json.loads(message["body"])
        result = predictor.predict(payload, request_id=request_id) if takes_request_id else predictor.predict(payload)
    except Exception as error:
        send({"type": "result", "id": message["id"], "status": "failed", "error": describe(error), "traceback": user_traceback(error)})
        return
    try:
        body = json.dumps(result, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as error:
        send({
            "type": "result",
            "id": message["id"],
            "status": "failed",
            "error": "predict() returned a value JSON cannot carry (%s); return dicts, lists, strings, numbers, booleans or None" % error,
        })
        return
    send({"type": "result", "id": message["id"], "status": "completed", "length": len(body)}, body)


def describe(error):
    text = str(error)
    return "%s: %s" % (type(error).__name__, text) if text else type(error).__name__


def user_frames(error):
    """The traceback's frames without the host program's own."""
    return [frame for frame in traceback.extract_tb(error.__traceback__) if os.path.abspath(frame.filename) != HOST_FILE]


def user_traceback(error):
    frames = user_frames(error)
    text = "".join(traceback.format_exception_only(type(error), error))
    if not frames:
        return text
    return "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + text


def describe_startup_error(error, path, during):
    """`predictor.py:3: ModuleNotFoundError: No module named 'x'`, at the deepest line in the predictor file."""
    frames = user_frames(error)
    in_file = [frame for frame in frames if os.path.abspath(frame.filename) == os.path.abspath(path)]
    where = in_file[-1] if in_file else (frames[-1] if frames else None)
    location = "%s:%s" % (where.filename, where.lineno) if where else path
    detail = "".join(traceback.format_list(frames)).rstrip() if len(frames) > 1 else ""
    return "%s: %s (while %s)%s" % (location, describe(error), during, "\n" + detail if detail else "")


if __name__ == "__main__":
    main()
