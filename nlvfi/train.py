"""GAN training of the generator: Charbonnier pre-training, then relativistic GAN fine-tuning.

Method: METHOD.md §3 (¶0189–0213). Phase 1 minimises the Charbonnier loss L_c alone (the
method's pixel loss; DAIN trains with only this). Phase 2 minimises L_G = L_c + lambda L_a for
the generator, alternating with discriminator updates on the mirrored RaGAN loss (¶0212):
one generator step, then one discriminator step, per batch (public design: ESRGAN).
Optional, off by default: supervision of the flow (end-point error) and depth
(scale-invariant log depth) on synthetic scenes, whose ground truth we know; OpenCV DIS flow
as the flow target on real clips (``flow_teacher = "dis"``, distillation from classical
flow); and a phase 0 (``flow_pretrain_steps``) that trains the flow module alone on those
targets before phase 1, so the interpolation loss starts from a flow that already matches.

    nlvfi train --config configs/ci.toml [--resume] [--out-dir DIR]
    torchrun --nproc_per_node 2 -m nlvfi.train --config configs/cuda.toml   # DDP

Same code on CPU and CUDA (bf16 autocast and channels_last on CUDA). Resumable exactly: the
data order is a pure function of (seed, epoch, step) and the full state (G, D, both
optimisers and schedulers, step, RNG states) is checkpointed atomically; ``--resume``
continues bit for bit on the CPU.
"""

from __future__ import annotations

import argparse
import copy
import csv
import math
import os
import random
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import ConcatDataset, DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

from . import losses
from .acceleration import keep_freed_cpu_memory
from .checkpoint import atomic_write, load_generator, save_generator
from .config import ModelConfig
from .discriminator import build_discriminator
from .generator import build_generator
from .metrics import psnr, ssim
from .train_config import TrainConfig, load_train_config

STATE_FILE = "last.pt"
BEST_STATE_FILE = "best.pt"
LOG_COLUMNS = [
    "step", "phase", "loss_g", "loss_pixel", "loss_adv", "loss_flow", "loss_depth", "loss_d",
    "d_real", "d_fake", "lr_g", "lr_d", "samples_per_s",
]  # fmt: skip
GT_KEYS = ("flow_forward", "flow_backward", "depth_prev", "depth_next")


class TrainingSample(Dataset):
    """Gives every dataset's items the same keys, so mixed batches collate.

    Args:
        dataset: synthetic, video or Vimeo triplets (or a ConcatDataset of them).
        flow_teacher: "" or "dis": items without true flow get OpenCV DIS flows (computed on
            the final, augmented crop) as flow targets.
    Items: prev, middle, next (3, h, w); t (); flow_forward, flow_backward (2, h, w),
    depth_prev, depth_next (1, h, w) -- zeros where unknown; has_flow, has_depth () 1.0 or 0.0.
    """

    def __init__(self, dataset: Dataset, flow_teacher: str = ""):
        self.dataset = dataset
        self.flow_teacher = flow_teacher

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        for part in getattr(self.dataset, "datasets", [self.dataset]):
            if hasattr(part, "set_epoch"):
                part.set_epoch(epoch)

    def __getitem__(self, index: int) -> dict:
        item = self.dataset[index]
        prev = item["prev"]
        height, width = prev.shape[-2:]
        has_flow = all(key in item for key in GT_KEYS[:2])
        has_depth = all(key in item for key in GT_KEYS[2:])
        out = {
            "prev": prev,
            "middle": item["middle"],
            "next": item["next"],
            "t": torch.as_tensor(item.get("t", 0.5), dtype=torch.float32),
            "has_flow": torch.tensor(1.0 if has_flow else 0.0),
            "has_depth": torch.tensor(1.0 if has_depth else 0.0),
        }
        for key, channels in zip(GT_KEYS, (2, 2, 1, 1)):
            known = has_flow if key.startswith("flow") else has_depth
            out[key] = item[key] if known else torch.zeros(channels, height, width)
        if not has_flow and self.flow_teacher == "dis":
            from .baselines import dis_flow

            pair = torch.stack((prev, item["next"]))  # (2, 3, h, w)
            out["flow_forward"], out["flow_backward"] = dis_flow(pair, pair.flip(0))  # (2, h, w) each
            out["has_flow"] = torch.tensor(1.0)
        return out


def build_datasets(config: TrainConfig) -> tuple[Dataset, dict[str, Dataset]]:
    """The training set and the named held-out sets. Raises clear errors for bad data."""
    from .data.synthetic import FlyingLayers

    data, seed = config.data, config.run.seed
    size = (data.crop_size, data.crop_size)
    parts: list[Dataset] = []
    held_out: dict[str, Dataset] = {}
    if data.synthetic_samples:
        parts.append(FlyingLayers(data.synthetic_samples, motion=list(data.synthetic_motion), size=size, seed=seed))
        if data.val_synthetic_samples:
            held_out["synthetic"] = FlyingLayers(
                data.val_synthetic_samples, motion=list(data.synthetic_motion), size=size, seed=seed + 1_000_003
            )
    if data.videos:
        from .data.video import VideoTriplets

        paths = [Path(p) for p in data.videos]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"training video(s) not found: {', '.join(missing)} (run `nlvfi data fetch`)")
        common = dict(gaps=tuple(data.video_gaps), max_side=data.video_max_side or None, cache_dir=data.video_cache or None)
        videos = VideoTriplets(
            paths,
            split="train",
            crop_size=data.crop_size,
            augment=True,
            seed=seed,
            spans=tuple(data.video_spans),
            downscales=tuple(data.video_downscales),  # held-out validation stays at the decoded size
            **common,
        )
        for skipped in videos.skipped:
            print(f"video_downscales: {skipped} is smaller than the {data.crop_size}px crop; not used at that size", file=sys.stderr)
        parts.append(videos)
        for repeat in range(1, data.video_repeat):  # same decoded frames, other augmentation seeds
            again = copy.copy(videos)
            again.seed = seed + 7919 * repeat
            parts.append(again)
        if data.val_video_triplets:
            held_out["real"] = _evenly_spaced(
                VideoTriplets(paths, split="eval", crop_size=None, augment=False, seed=seed, **common),
                data.val_video_triplets,
            )
    if data.vimeo_root:
        from .data.vimeo import VimeoTriplets

        parts.append(VimeoTriplets(data.vimeo_root, split="train", crop_size=data.crop_size, augment=True, seed=seed))
    train = ConcatDataset(parts) if len(parts) > 1 else parts[0]
    if len(train) == 0:
        raise ValueError("the training set is empty")
    if data.flow_teacher == "dis":
        try:
            import cv2  # noqa: F401
        except ImportError:
            raise ImportError('flow_teacher = "dis" needs OpenCV: pip install -e ".[baselines]"') from None
    return TrainingSample(train, flow_teacher=data.flow_teacher), held_out


def _evenly_spaced(dataset: Dataset, count: int) -> Dataset:
    if len(dataset) <= count:
        return dataset
    return torch.utils.data.Subset(dataset, np.linspace(0, len(dataset) - 1, count).round().astype(int).tolist())


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
        "python": [list(v) if isinstance(v, tuple) else v for v in random.getstate()],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
    }  # fmt: skip


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))


def drop_rows_after(path: Path, step: int) -> None:
    """Remove CSV rows whose ``step`` exceeds ``step`` (they will be trained and logged again)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    kept = [row for row in body if row and int(row[header.index("step")]) <= step]
    if len(kept) == len(body):
        return

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            csv.writer(f).writerows([header, *kept])

    atomic_write(path, write)


class Trainer:
    """Holds the models, optimisers, data and logs of one run; ``fit()`` trains to the end."""

    def __init__(self, config: TrainConfig, resume: bool = False, stop_after: int | None = None, quiet: bool = False):
        self.config = config
        self.stop_after = stop_after
        self.quiet = quiet
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.distributed = self.world_size > 1
        self.device = self._pick_device()
        self.out_dir = Path(config.run.out_dir)
        self.is_main = self.rank == 0
        self._check_out_dir(resume)

        torch.manual_seed(config.run.seed)
        np.random.seed(config.run.seed)
        random.seed(config.run.seed)
        # everything that can fail on bad input fails here, before any training or writing
        self.train_set, self.held_out = build_datasets(config)
        self.generator = build_generator(config.model.generator_config())
        if config.model.init:
            start = load_generator(config.model.init)
            if start.config != self.generator.config:
                raise ValueError(f"{config.model.init} is a {start.config.name} generator; this run trains {config.model.size}")
            self.generator.load_state_dict(start.state_dict())
        self.discriminator = build_discriminator(config.model.discriminator_size)
        self.generator.to(self.device)
        self.discriminator.to(self.device)
        if self.device.type == "cuda":
            self.generator.to(memory_format=torch.channels_last)
            self.discriminator.to(memory_format=torch.channels_last)
        optim = config.optim
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=optim.lr_generator, betas=(0.9, 0.99))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=optim.lr_discriminator, betas=(0.9, 0.99))
        total, final = config.total_steps, optim.lr_final_fraction
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(
            self.opt_g, lambda s: final + (1 - final) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
        )
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, lambda s: 1.0)
        self.step = 0
        self.best_psnr = -math.inf
        if resume:
            self._load_state(self.out_dir / STATE_FILE)
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_train = DistributedDataParallel(self.generator, device_ids=ids)
            self.d_train = DistributedDataParallel(self.discriminator, device_ids=ids)
        else:
            self.g_train, self.d_train = self.generator, self.discriminator
        self.sampler = DistributedSampler(
            self.train_set, num_replicas=self.world_size, rank=self.rank, shuffle=True, seed=config.run.seed, drop_last=True
        )
        self.steps_per_epoch = len(self.sampler) // optim.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"the training set ({len(self.train_set)} triplets) is smaller than one batch "
                f"({optim.batch_size} x {self.world_size} processes)"
            )
        self.writer = None
        if self.is_main and config.run.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(self.out_dir / "tensorboard"))
            except ImportError:
                print("tensorboard is not installed; logging to CSV only", file=sys.stderr)

    # ----------------------------------------------------------------------------------- setup
    def _pick_device(self) -> torch.device:
        name = self.config.run.device
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        if name.startswith("cuda"):
            if not torch.cuda.is_available():
                raise ValueError("device cuda requested but CUDA is not available")
            if self.distributed:
                name = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        device = torch.device(name)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        return device

    def _check_out_dir(self, resume: bool) -> None:
        state = self.out_dir / STATE_FILE
        if resume and not state.is_file():
            raise FileNotFoundError(f"--resume: no training state at {state}")
        if not resume and state.exists():
            raise ValueError(f"{self.out_dir} already holds a run ({STATE_FILE}); use --resume or another out_dir")

    # ----------------------------------------------------------------------------- checkpoints
    def state(self) -> dict:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
            "step": self.step,
            "best_psnr": self.best_psnr,
            "rng": rng_state(),
            "config": self.config.to_dict(),
            "model_config": self.generator.config.to_dict(),
        }

    def _load_state(self, path: Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        saved = ModelConfig.from_dict(state["model_config"])  # fills fields newer than the state
        if saved != self.generator.config:
            describe = lambda c: f"{c.name} model" + ("" if c.use_nonlocal else " without the non-local branch")  # noqa: E731
            raise ValueError(f"{path} was trained with the {describe(saved)}; this config asks for the {describe(self.generator.config)}")
        if state["config"]["model"]["discriminator_size"] != self.config.model.discriminator_size:
            raise ValueError(f"{path} has a different discriminator size than this config")
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        self.step = int(state["step"])
        self.best_psnr = float(state["best_psnr"])
        set_rng_state(state["rng"])

    def save(self, best: bool = False) -> None:
        if not self.is_main:
            return
        state = self.state()
        atomic_write(self.out_dir / STATE_FILE, lambda tmp: torch.save(state, tmp))
        meta = {"step": str(self.step), "train_config": self.config.to_dict()}
        save_generator(self.generator, self.out_dir / "generator_last.safetensors", meta)
        if best:
            atomic_write(self.out_dir / BEST_STATE_FILE, lambda tmp: torch.save(state, tmp))
            save_generator(self.generator, self.out_dir / "generator_best.safetensors", meta)

    # -------------------------------------------------------------------------------- training
    def batches(self):
        """Batches from the current step on; the order depends only on (seed, epoch, step)."""
        batch_size = self.config.optim.batch_size
        while True:
            epoch, offset = divmod(self.step, self.steps_per_epoch)
            self.sampler.set_epoch(epoch)
            self.train_set.set_epoch(epoch)
            indices = list(self.sampler)[offset * batch_size : self.steps_per_epoch * batch_size]
            loader = DataLoader(
                self.train_set,
                batch_size=batch_size,
                sampler=indices,
                drop_last=True,
                num_workers=self.config.run.num_workers,
                pin_memory=self.device.type == "cuda",
            )
            for batch in loader:
                yield {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def flow_step(self, batch: dict) -> dict:
        """Phase 0: the flow module alone, EPE to the flow targets (true or teacher flows).

        Only ``generator.flow`` runs, so the step costs a fraction of a full one; under DDP its
        gradients are averaged over the processes by hand (the DDP wrapper is not called)."""
        has_flow = batch["has_flow"]
        self.generator.train()
        with self.autocast():
            flows = self.generator.flow(batch["prev"], batch["next"])  # 2 x (B, 2, H, W)
        epe = sum(
            losses.end_point_error(flow.float(), batch[key], weights=has_flow)
            for flow, key in zip(flows, ("flow_forward", "flow_backward"))
        ) / 2
        if not torch.isfinite(epe):
            raise FloatingPointError(f"non-finite flow loss at step {self.step + 1}")
        self.opt_g.zero_grad(set_to_none=True)
        epe.backward()
        if self.distributed:
            for parameter in self.generator.flow.parameters():
                if parameter.grad is not None:
                    dist.all_reduce(parameter.grad)
                    parameter.grad /= self.world_size
        if self.config.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.generator.flow.parameters(), self.config.optim.grad_clip)
        self.opt_g.step()
        self.sched_g.step()
        return {
            "phase": "flow", "loss_g": epe.item(), "loss_flow": epe.item(),
            "lr_g": self.opt_g.param_groups[0]["lr"], "lr_d": self.opt_d.param_groups[0]["lr"],
        }  # fmt: skip

    def train_step(self, batch: dict) -> dict:
        optim = self.config.optim
        phase = self.config.phase(self.step)
        if phase == "flow":
            return self.flow_step(batch)
        gan = phase == "gan"
        prev, middle, next, t = batch["prev"], batch["middle"], batch["next"], batch["t"]
        if self.device.type == "cuda":
            prev, middle, next = (x.contiguous(memory_format=torch.channels_last) for x in (prev, middle, next))
        self.generator.train()
        self.discriminator.train()
        row = {"phase": phase}

        # generator step
        with self.autocast():
            out = self.g_train(prev, next, t=t, return_intermediates=bool(optim.flow_supervision_weight or optim.depth_supervision_weight))
        fake = out.frame
        pixel = losses.charbonnier(fake, middle)
        loss = pixel
        row["loss_pixel"] = pixel.item()
        has_flow, has_depth = batch["has_flow"], batch["has_depth"]
        if optim.flow_supervision_weight and has_flow.any():
            epe = sum(
                losses.end_point_error(flow, batch[key], weights=has_flow)
                for flow, key in zip(out.flows, ("flow_forward", "flow_backward"))
            ) / 2
            loss = loss + optim.flow_supervision_weight * epe
            row["loss_flow"] = epe.item()
        if optim.depth_supervision_weight and has_depth.any():
            keep = has_depth > 0
            depth_loss = sum(
                losses.scale_invariant_log_depth(depth[keep], batch[key][keep])
                for depth, key in zip(out.depths, ("depth_prev", "depth_next"))
            ) / 2
            loss = loss + optim.depth_supervision_weight * depth_loss
            row["loss_depth"] = depth_loss.item()
        if gan:
            with self.autocast():
                scores = self.d_train(torch.cat((middle, fake))).float()  # (2B,)
            c_real, c_fake = scores.chunk(2)
            adversarial = losses.ragan_generator_loss(c_real.detach(), c_fake)
            loss = loss + optim.adversarial_weight * adversarial
            row["loss_adv"] = adversarial.item()
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"non-finite generator loss at step {self.step + 1}; resume from the last checkpoint with a lower lr"
            )
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        if optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.generator.parameters(), optim.grad_clip)
        self.opt_g.step()
        row["loss_g"] = loss.item()

        # discriminator step (phase 2 only)
        if gan:
            with self.autocast():
                scores = self.d_train(torch.cat((middle, fake.detach()))).float()
            c_real, c_fake = scores.chunk(2)
            loss_d = losses.ragan_discriminator_loss(c_real, c_fake)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            self.sched_d.step()
            row.update(loss_d=loss_d.item(), d_real=c_real.mean().item(), d_fake=c_fake.mean().item())
        self.sched_g.step()
        row["lr_g"] = self.opt_g.param_groups[0]["lr"]
        row["lr_d"] = self.opt_d.param_groups[0]["lr"]
        return row

    @torch.no_grad()
    def validate(self) -> dict:
        """PSNR/SSIM of nlvfi on each held-out set (full frames for real clips)."""
        self.generator.eval()
        results = {}
        for name, dataset in self.held_out.items():
            scores_psnr, scores_ssim = [], []
            for i in range(len(dataset)):
                item = dataset[i]
                prev, middle, next = (item[k].unsqueeze(0).to(self.device) for k in ("prev", "middle", "next"))
                with self.autocast():
                    frame = self.generator(prev, next, t=float(item.get("t", 0.5))).frame.float()
                scores_psnr.append(psnr(frame, middle))
                scores_ssim.append(ssim(frame, middle))
            results[name] = {"psnr": float(np.mean(scores_psnr)), "ssim": float(np.mean(scores_ssim)), "n": len(dataset)}
        return results

    def _log(self, writer: csv.DictWriter, row: dict) -> None:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        if self.writer:
            for key, value in row.items():
                if isinstance(value, float):
                    self.writer.add_scalar(key, value, row["step"])

    def fit(self) -> dict:
        """Train to the configured number of steps (or ``stop_after``); returns the last validation."""
        config = self.config
        total = config.total_steps
        end = total if self.stop_after is None else min(total, self.stop_after)
        last_validation: dict = {}
        log_file = val_file = None
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            log_path, val_path = self.out_dir / "log.csv", self.out_dir / "validation.csv"
            for path in (log_path, val_path):  # an interrupted run logged past its checkpoint
                drop_rows_after(path, self.step)
            new_log = not log_path.exists()
            log_file = open(log_path, "a", newline="")
            log = csv.DictWriter(log_file, LOG_COLUMNS, extrasaction="ignore")
            if new_log:
                log.writeheader()
            new_val = not val_path.exists()
            val_file = open(val_path, "a", newline="")
            val_log = csv.writer(val_file)
            if new_val:
                val_log.writerow(["step", "set", "psnr", "ssim", "n"])
        progress = tqdm(total=end, initial=self.step, desc="train", disable=not self.is_main or self.quiet, dynamic_ncols=True)
        batches = self.batches()
        try:
            while self.step < end:
                batch = next(batches)
                start = time.perf_counter()
                row = self.train_step(batch)
                self.step += 1
                row["step"] = self.step
                row["samples_per_s"] = batch["prev"].shape[0] * self.world_size / (time.perf_counter() - start)
                if self.is_main:
                    self._log(log, row)
                    log_file.flush()
                    progress.update(1)
                    progress.set_postfix(phase=row["phase"], loss=f"{row['loss_g']:.4f}")
                validate_now = self.held_out and (self.step % config.run.validate_every == 0 or self.step == total)
                if validate_now and self.is_main:
                    last_validation = self.validate()
                    for name, r in last_validation.items():
                        val_log.writerow([self.step, name, f"{r['psnr']:.4f}", f"{r['ssim']:.5f}", r["n"]])
                    val_file.flush()
                    score = float(np.mean([r["psnr"] for r in last_validation.values()]))
                    better = score > self.best_psnr
                    self.best_psnr = max(self.best_psnr, score)
                    progress.write(f"step {self.step}: " + ", ".join(
                        f"{n} {r['psnr']:.2f} dB / SSIM {r['ssim']:.4f}" for n, r in last_validation.items()))  # fmt: skip
                    self.save(best=better)
                elif self.step % config.run.checkpoint_every == 0 or self.step == end:
                    self.save()
        except KeyboardInterrupt:
            if self.is_main:
                progress.write(f"interrupted at step {self.step}: saving, resume with --resume")
                self.save()
            raise
        finally:
            progress.close()
            for f in (log_file, val_file):
                if f:
                    f.close()
            if self.writer:
                self.writer.close()
        return last_validation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nlvfi train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a TOML file (configs/ci.toml, cpu.toml, cuda.toml)")
    parser.add_argument("--resume", action="store_true", help="continue the run in out_dir exactly")
    parser.add_argument("--out-dir", help="override [run] out_dir")
    parser.add_argument("--device", help="override [run] device")
    parser.add_argument("--stop-after", type=int, help="stop (and checkpoint) after this many total steps")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    config = load_train_config(args.config)
    if args.out_dir:
        config.run.out_dir = args.out_dir
    if args.device:
        config.run.device = args.device
    keep_freed_cpu_memory(config.run.device)  # on the CPU each step reuses the memory the last one freed (nlvfi.acceleration)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        backend = "nccl" if torch.cuda.is_available() and config.run.device != "cpu" else "gloo"
        dist.init_process_group(backend=backend)
    try:
        trainer = Trainer(config, resume=args.resume, stop_after=args.stop_after, quiet=args.quiet)
        trainer.fit()
    finally:
        if distributed:
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (FileNotFoundError, ValueError) as error:
        print(f"nlvfi train: error: {error}", file=sys.stderr)
        sys.exit(2)
