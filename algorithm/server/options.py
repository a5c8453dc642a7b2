"""The options of ``lesionseg serve``, apart from the server so that building the command
line's parser loads neither FastAPI nor uvicorn (``lesionseg segment`` starts no slower)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_PORT = 8765
TOKEN_ENV = "LESIONSEG_TOKEN"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``serve`` beside the segmenter's (--method, --weights, ...)."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--token", default=None,
                        help=f"require 'Authorization: Bearer TOKEN' (or set ${TOKEN_ENV}, which "
                        "other users cannot see in the process list)")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="may repeat: a browser viewer's origin (e.g. OHIF at "
                        "http://localhost:3000) allowed to call the server")
    parser.add_argument("--allow-dir", type=Path, action="append", default=[], metavar="FOLDER",
                        help="may repeat: a folder whose images sessions may name by path")
    parser.add_argument("--save-dir", type=Path, default=None, metavar="FOLDER",
                        help="let clients save finished lesions as training cases into this "
                        "nnU-Net-style folder (made if needed; docs/serve.md), for "
                        "python -m training.train to retrain on; without it saving is off")
    parser.add_argument("--max-upload-mb", type=float, default=1024.0)
    parser.add_argument("--max-image-mb", type=float, default=4096.0,
                        help="largest image in memory its header may declare")
    parser.add_argument("--max-sessions", type=int, default=4)
    parser.add_argument("--idle-minutes", type=float, default=30.0,
                        help="a session unused this long is dropped")
    parser.add_argument("--max-lesions", type=int, default=32, help="per session")
    parser.add_argument("--max-undo", type=int, default=50, help="steps remembered per lesion")
    parser.add_argument("--confidence", action="store_true",
                        help="score every answer (the lesion's confidence): one classical "
                        "prediction more per prompt, about 0.15 s on 2 CPU cores; without it "
                        "the confidence is null")
    parser.add_argument("--suggest", action="store_true",
                        help="return with every answer the suggested next click (the lesion's "
                        "suggestion: the most uncertain place near the mask's boundary, "
                        "algorithm/suggestion.py); without it the suggestion is null")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch's CPU threads (default: its own choice)")
