"""grand-challenge invoke mode: one server process that loads the model once and then segments
case after case, instead of a fresh process (Python, PyTorch, weights) per case.

The platform runs an image labelled ``org.grand-challenge.api-method="invoke"`` as a server on
port 4743: it polls ``GET /health`` until it answers 200, puts a case under ``/input``, calls
``POST /invoke`` and, on 201, reads ``/output``; then the next case, in the same container.

    GET  /health   200 {"status": "ready"} once the model is loaded; 503 while it loads;
                   500 if loading failed (the process then exits with the error)
    POST /invoke   segments the case in --input into --output (the same files as exec mode,
                   ``algorithm.platform_case``): 201 {"status": "done", "outputs": [...]}; bad
                   input 422 and an internal error 500, both {"status": "failed", "error":
                   "<one line>"} with nothing written, stderr ending ``error: <that line>``
                   as in exec mode; the server then takes the next case. One case at a time:
                   a second request while one runs gets 409.

    python -m algorithm.platform_server [--host 0.0.0.0] [--port 4743] [--input /input]
        [--output /output] [--method auto] [--weights DIR] [--modality CT|MR] [--device cpu]

Uvicorn's own log goes to stdout, so stderr holds only what the algorithm says (its warnings and
``error:`` lines), as the platform expects of stderr.
"""

from __future__ import annotations

import argparse
import copy
import sys
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from algorithm.cli import add_case_options
from algorithm.cli_support import failure_message, report_failure, run_guarded
from algorithm.errors import InputError
from algorithm.io.case_outputs import probability_requested
from algorithm.io.grand_challenge import locate_inputs
from algorithm.methods.base import Segmenter
from algorithm.methods.select import make_segmenter
from algorithm.platform_case import process_case
from algorithm.preprocessing import Modality

PORT = 4743
INPUT_ERROR_STATUS = 422  #: the request was fine, the case in /input is not
BUSY_STATUS = 409


class ModelSlot:
    """The segmenter, loaded once in a background thread so ``/health`` can answer meanwhile."""

    def __init__(self) -> None:
        self.state: Literal["loading", "ready", "failed"] = "loading"
        self.segmenter: Segmenter | None = None
        self.error: str | None = None
        self.exit_code = 0

    def load(self, factory: Callable[[], Segmenter],
             on_failure: Callable[[], None] | None = None) -> threading.Thread:
        def run() -> None:
            try:
                self.segmenter = factory()
                self.state = "ready"
            except Exception as exc:
                self.error = failure_message(exc)
                self.exit_code = report_failure(exc)
                self.state = "failed"
                if on_failure is not None:
                    on_failure()

        thread = threading.Thread(target=run, name="load-model", daemon=True)
        thread.start()
        return thread


def create_app(load_segmenter: Callable[[], Segmenter], input_dir: Path, output_dir: Path, *,
               modality: Modality | None = None, write_probability: bool = False,
               on_load_failure: Callable[[], None] | None = None) -> FastAPI:
    """The invoke API over ``input_dir`` and ``output_dir``; ``load_segmenter`` runs once, in
    the background, when the server starts."""
    slot = ModelSlot()
    one_case_at_a_time = threading.Lock()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        slot.load(load_segmenter, on_load_failure)
        yield

    app = FastAPI(title="lesionseg grand-challenge invoke API", lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.model = slot

    @app.get("/health")
    async def health() -> JSONResponse:  # async: answered even while a case runs
        if slot.state == "ready":
            return JSONResponse({"status": "ready", "method": slot.segmenter.name})
        if slot.state == "failed":
            return JSONResponse({"status": "failed", "error": slot.error}, status_code=500)
        return JSONResponse({"status": "loading"}, status_code=503)

    @app.post("/invoke", status_code=201)
    def invoke() -> JSONResponse:  # sync: runs in the thread pool, off the event loop
        if slot.state != "ready":
            error = slot.error or "the model is still loading: wait for GET /health to answer 200"
            return JSONResponse({"status": slot.state, "error": error}, status_code=503)
        if not one_case_at_a_time.acquire(blocking=False):
            return JSONResponse({"status": "busy", "error": "another case is being processed"},
                                status_code=BUSY_STATUS)
        try:
            report = process_case(locate_inputs(Path(input_dir)), Path(output_dir),
                                  slot.segmenter, modality=modality,
                                  write_probability=write_probability)
        except Exception as exc:
            report_failure(exc)
            status = INPUT_ERROR_STATUS if isinstance(exc, InputError) else 500
            return JSONResponse({"status": "failed", "error": failure_message(exc)},
                                status_code=status)
        finally:
            one_case_at_a_time.release()
        print(report.summary(), file=sys.stderr, flush=True)
        outputs = [str(p.relative_to(Path(output_dir))) for p in report.written]
        return JSONResponse({"status": "done", "outputs": outputs,
                             "seconds": round(report.seconds, 3)}, status_code=201)

    return app


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m algorithm.platform_server",
        description="grand-challenge invoke mode: load the model once, then segment the case in "
        "--input into --output on every POST /invoke (GET /health answers 200 when ready).",
    )
    parser.add_argument("--host", default="0.0.0.0",
                        help="address to listen on (default 0.0.0.0: the platform connects "
                        "to the container; the container has no network beyond it)")
    parser.add_argument("--port", type=int, default=PORT)
    add_case_options(parser)
    return parser


def log_config_on_stdout() -> dict:
    """Uvicorn's logging, with its server messages moved from stderr to stdout."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for handler in config["handlers"].values():
        handler["stream"] = "ext://sys.stdout"
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        import uvicorn

        server: uvicorn.Server | None = None

        def stop() -> None:
            if server is not None:
                server.should_exit = True

        app = create_app(lambda: make_segmenter(args.method, args.weights, args.device),
                         args.input, args.output, modality=args.modality,
                         write_probability=probability_requested(), on_load_failure=stop)
        server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port,
                                               log_config=log_config_on_stdout()))
        server.run()
        return app.state.model.exit_code

    return run_guarded(run)


if __name__ == "__main__":
    sys.exit(main())
