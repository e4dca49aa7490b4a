"""Train crack models for a fixed wall-clock budget on one GPU: the recipe of the shipped field model.

Why a budget and not epochs: a lent GPU comes for minutes, not hours, and the number of steps it
manages depends on the machine. The learning rate follows a cosine over the *elapsed fraction of
the budget* (after a short warm-up), so the run ends annealed whenever the budget ends.

Several runs (``--run NAME=INIT:LR``) train side by side on the *same* stream of augmented
batches, so a race between two starts (the shipped model versus ImageNet, say) pays for the data
loading once and compares the starts on identical data. INIT is ``imagenet``, a model folder or a
``.safetensors`` state dict (an ImageNet-initialised network saved where the weights package is).

Each run writes ``OUT/<name>-<percent>.safetensors`` (fp16 weights, the settings in its metadata)
at the fractions of the budget given by ``--snapshots``, and ``OUT/budget_run.json`` holds the
settings, step count, throughput and loss curve. ``scripts/adopt_snapshot.py`` turns a snapshot into
a model artifact with its threshold tuned on the validation splits.

    python scripts/train_budget.py --data .gpu/uav-crackx,.gpu/crack500,... --data-weights 1.5,1,1,1 \\
        --run fine=models/default:3e-4 --run imagenet=init.safetensors:2e-3 --minutes 7 --out OUT
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader

from cracks.data.dataset import CrackDataset, init_loader_worker, normalize_batch
from cracks.data.layouts import gather_pairs
from cracks.errors import SettingError
from cracks.hashing import file_sha256
from cracks.models import artifact
from cracks.models.factory import DEFAULT_ARCH, DEFAULT_ENCODER, build_model, normalization_for
from cracks.models.hardware import cpu_model
from cracks.training.augment import train_transform
from cracks.training.distill import check_distillation, distilled_targets, mirror_averaged_probabilities, teacher_threshold
from cracks.training.hard_negatives import PAINTERS
from cracks.training.losses import DECIDING_LOSSES, build_loss
from cracks.training.sampling import domain_name, epoch_batches, sample_weights
from cracks.training.step import check_micro_batch, freeze_norm_statistics, train_step


@dataclass
class Run:
    name: str
    init: str
    lr: float
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loss: float = float("nan")


class EndlessBatches:
    """Weighted batches forever: chunk ``k`` is ``epoch_batches(..., epoch=k)``, a function of the seed."""

    def __init__(self, n: int, batch_size: int, seed: int, weights: torch.Tensor | None, chunk: int):
        self.n, self.batch_size, self.seed, self.weights, self.chunk = n, batch_size, seed, weights, chunk

    def __iter__(self) -> Iterator[list[int]]:
        chunk = 0
        while True:
            yield from epoch_batches(self.n, self.batch_size, self.seed, chunk, None,
                                     weights=self.weights, samples=self.chunk)
            chunk += 1


def initial_model(init: str, arch: str, encoder: str) -> torch.nn.Module:
    if init == "imagenet":
        return build_model(arch, encoder, pretrained=True)
    model = build_model(arch, encoder, pretrained=False)
    if init.endswith(".safetensors"):
        state = load_file(init)
    else:
        loaded = artifact.load(init)
        if (loaded.meta.arch, loaded.meta.encoder) != (arch, encoder):
            raise SystemExit(f"error: {init}: a {loaded.meta.arch}/{loaded.meta.encoder} model, not {arch}/{encoder}")
        state = loaded.model.state_dict()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model


def init_sha256(init: str) -> str:
    """The SHA-256 of the weights a run starts from ("" for ImageNet): a model folder's name is reused
    when a new model ships, its hash is not."""
    if init == "imagenet":
        return ""
    path = Path(init)
    return file_sha256(path / "model.safetensors" if path.is_dir() else path)


def parse_run(text: str) -> tuple[str, str, float]:
    try:
        name, rest = text.split("=", 1)
        init, lr = rest.rsplit(":", 1)
        return name, init, float(lr)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--run {text!r}: expected NAME=INIT:LR") from None


def lr_factor(step: int, fraction: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then a cosine over the elapsed fraction of the budget."""
    return min(1.0, (step + 1) / warmup) * max(0.01, 0.5 * (1 + math.cos(math.pi * min(1.0, fraction))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="comma-separated dataset folders")
    parser.add_argument("--layout", default="auto")
    parser.add_argument("--split", default="train")
    parser.add_argument("--data-weights", default=None)
    parser.add_argument("--run", action="append", type=parse_run, required=True)
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--micro-batch", type=int, default=None,
                        help="crops per forward/backward pass; their gradients add up to one step of --batch-size "
                             "(a CPU: --batch-size 64 --micro-batch 8 --freeze-norm steps like the GPU recipe)")
    parser.add_argument("--cpu-bf16", action="store_true",
                        help="bfloat16 autocast on the CPU too (as on a GPU): 1.45x a step on a Xeon with AMX")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--scale", default="0.5,2")
    parser.add_argument("--hard-negatives", type=float, default=0.5)
    parser.add_argument("--hard-negative-weights", default=None,
                        help="KIND=W,... relative weights of artefact kinds (default: all 1)")
    parser.add_argument("--no-field-photometry", action="store_true")
    parser.add_argument("--field-optics", action="store_true",
                        help="blur, coarser pixels, dull exposure and heavy JPEG on the photo, the mask kept sharp")
    parser.add_argument("--loss", default=None, help="default dice_bce; bce with --distill-mirror")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--snapshots", default="0.5,0.75,1")
    parser.add_argument("--freeze-norm", action="store_true",
                        help="keep the starting model's batch-norm statistics (small batches, e.g. on a CPU)")
    parser.add_argument("--distill-mirror", default=None, metavar="TEACHER",
                        help="train on TEACHER's mirror-averaged probabilities (a model folder or .safetensors; "
                             "cracks/training/distill.py): one pass that gives what --tta gives")
    parser.add_argument("--distill-label-weight", type=float, default=0.0,
                        help="share of the labels in the distilled targets (0: the teacher alone)")
    parser.add_argument("--distill-threshold", type=float, default=None,
                        help="where --loss bce_decided_dice or decided_dice_bce decides the teacher's probabilities (default: the "
                             "teacher folder's model.json threshold; a .safetensors teacher needs it)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--encoder", default=DEFAULT_ENCODER,
                        help="smp encoder of every run (ImageNet weights offline: timm-tf_efficientnet_lite0/1/2)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.loss = args.loss or ("bce" if args.distill_mirror else "dice_bce")
    try:
        check_micro_batch(args.micro_batch, batch_size=args.batch_size)
        if args.distill_mirror:
            check_distillation(loss=args.loss, label_weight=args.distill_label_weight)
            if args.loss in DECIDING_LOSSES:
                args.distill_threshold = teacher_threshold(args.distill_mirror, args.distill_threshold)
        if args.distill_threshold is not None and not (args.distill_mirror and args.loss in DECIDING_LOSSES):
            raise SettingError("distill_threshold", args.distill_threshold, "only --distill-mirror with --loss bce_decided_dice "
                                                                           "or decided_dice_bce decides at a threshold")
        loss_fn = build_loss(args.loss, decision_threshold=args.distill_threshold)
    except SettingError as exc:
        parser.error(exc.as_option())

    started = time.monotonic()
    budget = args.minutes * 60
    torch.manual_seed(args.seed)
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    arch, encoder = DEFAULT_ARCH, args.encoder
    normalization = normalization_for(arch, encoder)
    roots = [Path(p) for p in args.data.split(",")]
    by_domain = {domain_name(root): gather_pairs([root], args.layout, args.split) for root in roots}
    pairs = [p for ps in by_domain.values() for p in ps]
    shares = [float(w) for w in args.data_weights.split(",")] if args.data_weights else None
    weights = sample_weights([len(ps) for ps in by_domain.values()], shares)
    scale = tuple(float(s) for s in args.scale.split(","))
    kind_weights = dict((k, float(w)) for k, w in (item.split("=") for item in args.hard_negative_weights.split(","))) \
        if args.hard_negative_weights else None
    transform = train_transform(args.crop, scale=scale, hard_negatives=args.hard_negatives,
                                field_photometry=not args.no_field_photometry, hard_negative_weights=kind_weights,
                                field_optics=args.field_optics)
    # Decoded once here and shared with the forked workers; bytes, not floats, through their queues.
    dataset = CrackDataset(pairs, normalization, transform, preload=True, normalize=False, threads=16)
    print(f"decoded {len(dataset)} pairs in {time.monotonic() - started:.1f} s", flush=True)
    batches = EndlessBatches(len(dataset), args.batch_size, args.seed, weights, chunk=len(dataset))
    loader = DataLoader(dataset, batch_sampler=batches, num_workers=args.workers, pin_memory=device.type == "cuda",
                        prefetch_factor=6 if args.workers else None, persistent_workers=args.workers > 0,
                        worker_init_fn=init_loader_worker)
    runs = []
    for name, init, lr in args.run:
        model = initial_model(init, arch, encoder).to(device).to(memory_format=torch.channels_last).train()
        if args.freeze_norm:
            freeze_norm_statistics(model)
        runs.append(Run(name, init, lr, model, torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=args.weight_decay,
                                                                   fused=device.type == "cuda")))
    teacher = None
    if args.distill_mirror:
        teacher = initial_model(args.distill_mirror, arch, encoder).to(device).to(memory_format=torch.channels_last).eval()
    cpu = cpu_model()
    gpu = torch.cuda.get_device_name() if device.type == "cuda" else "none"
    print(f"device {device} ({gpu}), cpu {cpu}; {len(pairs)} pairs: "
          + ", ".join(f"{d} {len(ps)}" for d, ps in by_domain.items()), flush=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    settings["run"] = [f"{n}={i}:{lr}" for n, i, lr in args.run]
    if args.distill_mirror:
        settings["distill_mirror_sha256"] = init_sha256(args.distill_mirror)
    settings["hard_negative_kinds"] = [k for k in PAINTERS if (kind_weights or {}).get(k, 1.0) > 0] \
        if args.hard_negatives > 0 else []  # the kinds it was shown (a weight of 0 leaves one out)
    snapshots = sorted(float(s) for s in args.snapshots.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    history: list[dict] = []
    amp = device.type == "cuda" or args.cpu_bf16

    def snapshot(fraction: float, step: int) -> None:
        for run in runs:
            state = {k: v.detach().half().cpu().contiguous() if v.is_floating_point() else v.detach().cpu().contiguous()
                     for k, v in run.model.state_dict().items()}
            meta = {"arch": arch, "encoder": encoder, "run": run.name, "init": run.init,
                    "init_sha256": init_sha256(run.init), "lr": str(run.lr),
                    "fraction": f"{fraction:.2f}", "step": str(step), "settings": json.dumps(settings)}
            save_file(state, str(args.out / f"{run.name}-{round(fraction * 100):03d}.safetensors"), metadata=meta)

    step, samples, t0, waited = 0, 0, None, 0.0
    batches_in = iter(loader)
    while True:
        asked = time.monotonic()
        images, masks = next(batches_in)
        if t0 is not None:
            waited += time.monotonic() - asked  # time the GPU could have worked but had no batch
        if t0 is None:
            t0 = time.monotonic()  # the budget counts training, not worker start-up
            print(f"first batch after {t0 - started:.1f} s", flush=True)
        fraction = (time.monotonic() - t0) / budget
        while snapshots and fraction >= snapshots[0]:
            snapshot(snapshots.pop(0), step)
        if not snapshots:
            break
        images, masks = normalize_batch(images.to(device, non_blocking=True), masks.to(device, non_blocking=True),
                                        normalization)
        images = images.contiguous(memory_format=torch.channels_last)
        if teacher is not None:
            masks = distilled_targets(mirror_averaged_probabilities(teacher, images, amp=amp), masks,
                                      label_weight=args.distill_label_weight)
        factor = lr_factor(step, fraction, args.warmup_steps)
        for run in runs:
            for group in run.optimizer.param_groups:
                group["lr"] = run.lr * factor
            loss = train_step(run.model, images, masks, loss_fn, run.optimizer, None, device.type, amp,
                              amp_dtype=torch.bfloat16, micro_batch=args.micro_batch)
            # a running mean kept on the device: reading it every step would stall the GPU queue
            run.loss = loss.detach() if step == 0 else 0.98 * run.loss + 0.02 * loss.detach()
        step += 1
        samples += len(images)
        if step % 100 == 0:
            elapsed = time.monotonic() - t0
            history.append({"step": step, "seconds": round(elapsed, 1), "samples_per_s": round(samples / elapsed, 1),
                            "waiting_for_data": round(waited / elapsed, 3), "lr_factor": round(factor, 4),
                            **{f"loss_{r.name}": round(float(r.loss), 4) for r in runs}})
            print(json.dumps(history[-1]), flush=True)
    seconds = time.monotonic() - (t0 or started)
    summary = {"settings": settings, "device": str(device), "gpu": gpu, "cpu": cpu, "steps": step, "samples": samples,
               "train_seconds": round(seconds, 1), "samples_per_s": round(samples / max(seconds, 1e-9), 1),
               "pairs": {d: len(ps) for d, ps in by_domain.items()}, "history": history}
    (args.out / "budget_run.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"done: {step} steps, {samples} crops in {seconds:.0f} s ({summary['samples_per_s']} crops/s)", flush=True)


if __name__ == "__main__":
    main()
