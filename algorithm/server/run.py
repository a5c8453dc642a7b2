"""``lesionseg serve``: its options, the model loaded and warmed up once, then uvicorn.

Bound to 127.0.0.1 unless ``--host`` says otherwise; a bearer token comes from ``--token`` or,
kept out of the process list, from ``$LESIONSEG_TOKEN``.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys

import numpy as np
import SimpleITK as sitk

from algorithm.cli_support import fine_tune_seconds
from algorithm.errors import InputError
from algorithm.methods.base import Segmenter
from algorithm.methods.select import make_segmenter
from algorithm.pipeline import PipelineConfig, segment
from algorithm.prompts import Clicks
from algorithm.server.app import ServerSettings, create_app
from algorithm.server.options import TOKEN_ENV
from algorithm.server.sessions import Limits

#: what the Host header may say to a server bound to loopback
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def settings_from(args: argparse.Namespace) -> ServerSettings:
    for folder in args.allow_dir:
        if not folder.is_dir():
            raise InputError(f"--allow-dir {folder} is not a folder")
    for name in ("max_upload_mb", "max_image_mb", "max_sessions", "idle_minutes",
                 "max_lesions", "max_undo"):
        if getattr(args, name) <= 0:
            raise InputError(f"--{name.replace('_', '-')} must be positive")
    save_dir = args.save_dir
    if save_dir is not None:
        try:
            save_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"--save-dir {save_dir}: cannot make the folder "
                             f"({error.strerror})") from None
    return ServerSettings(
        token=args.token or os.environ.get(TOKEN_ENV) or None,
        allow_dirs=tuple(f.resolve() for f in args.allow_dir),
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_image_bytes=int(args.max_image_mb * 2**20),
        limits=Limits(max_sessions=args.max_sessions, idle_seconds=args.idle_minutes * 60,
                      max_lesions=args.max_lesions, max_undo=args.max_undo),
        pipeline=PipelineConfig(clicks_on_boundary=args.clicks_on_boundary,
                                confidence=args.confidence,
                                fine_tune_seconds=fine_tune_seconds(args.fine_tune)),
        suggest=args.suggest,
        modality=args.modality,
        cors_origins=tuple(args.cors_origin),
        allowed_hosts=LOOPBACK_NAMES if _loopback(args.host) else None,
        save_dir=save_dir.resolve() if save_dir is not None else None,
    )


def warm_up(segmenter: Segmenter) -> None:
    """One segmentation of a small synthetic lesion, so that the first user's prompt does not
    pay for PyTorch's first call (kernel choice, allocations)."""
    z, y, x = np.mgrid[:32, :48, :48]
    ball = (z - 16) ** 2 + (y - 24) ** 2 + (x - 24) ** 2 < 10**2
    image = sitk.GetImageFromArray(np.where(ball, 60, -900).astype(np.int16))
    clicks = Clicks.from_points([image.TransformIndexToPhysicalPoint((24, 24, 16))])
    segment(image, clicks, segmenter)


def serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)  # bad options fail before the model loads
    import torch
    import uvicorn

    if args.threads:
        torch.set_num_threads(args.threads)
    segmenter = make_segmenter(args.method, args.weights, args.device)
    warm_up(segmenter)
    if not settings.token and not _loopback(args.host):
        print(f"warning: serving on {args.host} without a token: anyone who reaches this port "
              f"can use the server (set --token or ${TOKEN_ENV})", file=sys.stderr)
    print(f"lesionseg serve: {segmenter.name} on http://{args.host}:{args.port} "
          f"(API at /docs{', token required' if settings.token else ''})", file=sys.stderr)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    uvicorn.run(create_app(settings, segmenter), host=args.host, port=args.port,
                log_level="info")
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
