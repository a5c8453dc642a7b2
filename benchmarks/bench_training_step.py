"""Time one training step (``training.train.training_step``, with AdamW) in float32
and with bfloat16 autocast (``--amp``), and one inference pass, on this machine.

    python benchmarks/bench_training_step.py [--device cpu|cuda] [--threads 2] [--repeats 8]

Prints medians over the repeats (the first, warm-up, step is dropped) and the bf16/fp32 ratio,
both measured in the same run. Inputs are random: the step's cost does not depend on the data.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from algorithm.guidance.encoding import CHANNELS  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.train import mixed_precision, training_step, unet  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(config: TrainConfig, device: torch.device, amp: bool, repeats: int
               ) -> tuple[float, float]:
    """(median training step, median single-case inference pass), seconds."""
    torch.manual_seed(0)
    model = unet(config, deep_supervision=True).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = config.grid_size
    x = torch.randn(config.batch_size, len(CHANNELS), g, g, g, device=device)
    y = (torch.rand(config.batch_size, g, g, g, device=device) > 0.8).long()
    steps = []
    for _ in range(repeats + 1):
        _sync(device)
        started = time.perf_counter()
        training_step(model, optimizer, x, y, amp)
        _sync(device)
        steps.append(time.perf_counter() - started)
    model.eval()
    passes = []
    with torch.no_grad(), mixed_precision(device, amp):
        for _ in range(repeats + 1):
            _sync(device)
            started = time.perf_counter()
            model(x[:1])
            _sync(device)
            passes.append(time.perf_counter() - started)
    return statistics.median(steps[1:]), statistics.median(passes[1:])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads, 0 = all cores")
    p.add_argument("--repeats", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--grid-size", type=int, default=64)
    p.add_argument("--features", type=int, nargs="+", default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(batch_size=args.batch_size, grid_size=args.grid_size,
                         **({"features": args.features} if args.features else {}))
    device = torch.device(args.device)
    print(f"device {device}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} threads, features {config.features}, "
          f"batch {config.batch_size} at {config.grid_size}^3")
    fp32 = time_steps(config, device, amp=False, repeats=args.repeats)
    bf16 = time_steps(config, device, amp=True, repeats=args.repeats)
    for name, a, b in (("training step", fp32[0], bf16[0]), ("inference pass", fp32[1], bf16[1])):
        print(f"{name}: float32 {a:.3f} s, bfloat16 autocast {b:.3f} s (ratio {b / a:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
