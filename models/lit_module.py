"""LightningModule of a Siamese dual encoder with a LoRA adapter, trained with InfoNCE.

One transformer (with its adapter) embeds queries and documents alike (paper section 4.3).
AdamW with warm-up and weight decay come from the config as partials (``train.optimizer``,
``train.scheduler``). Logged every step: ``train/loss``, ``train/lr``, ``train/samples_per_s``
and ``train/tokens_per_s``; at the end of each epoch the development metrics that ``dev_eval``
returns (``dev/ndcg@5``, ``dev/ap``). Ids and numbers only: no text is logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import lightning as L
import torch

from models.losses import InfoNCELoss

DevEval = Callable[[Any], dict[str, float]]


def _tokens(batch: dict[str, Any]) -> int:
    parts = [batch["queries"], batch["positives"], batch.get("negatives")]
    return int(sum(int(p["attention_mask"].sum()) for p in parts if p is not None))


class DualEncoderModule(L.LightningModule):
    """Trains the adapter of ``encoder`` (whose ``model`` is already a PEFT model).

    Args:
        encoder: a :class:`models.encoder.Encoder` whose ``model`` holds the trainable adapter.
        optimizer: ``optimizer(params) -> torch.optim.Optimizer`` (``torch.optim.AdamW`` partial).
        scheduler: ``scheduler(optimizer, num_training_steps=...)`` or ``None``
            (:func:`models.schedules.linear_warmup` partial).
        temperature: InfoNCE temperature (0.1, paper eq. 3).
        dev_eval: ``dev_eval(encoder) -> {"ndcg@5": ..., "ap": ...}`` run at each epoch end.
        total_steps: optimizer steps of the run (else the trainer's estimate).
    """

    def __init__(
        self,
        encoder: Any,
        optimizer: Callable[..., torch.optim.Optimizer],
        scheduler: Callable[..., Any] | None = None,
        temperature: float = 0.1,
        dev_eval: DevEval | None = None,
        total_steps: int | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.model = encoder.model  # registered: Lightning moves it and switches train/eval
        self.loss = InfoNCELoss(encoder, temperature)
        self.optimizer_factory, self.scheduler_factory = optimizer, scheduler
        self.dev_eval, self.total_steps = dev_eval, total_steps
        self.dev_metrics: list[dict[str, float]] = []
        self._losses: dict[int, list[float]] = {}  # optimizer step -> losses of its batches
        self._rng_to_restore: dict[str, Any] | None = None
        self._tick: float | None = None
        self.strict_loading = False  # checkpoints hold the adapter weights only

    # ---- training -------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        self.train()  # the encoder loads its body in eval mode; LoRA dropout must be active

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        loss = self.loss(batch["queries"], batch["positives"], batch.get("negatives"), batch.get("keys"))
        size = batch["queries"]["input_ids"].shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self._losses.setdefault(int(self.global_step), []).append(float(loss.detach()))
        optimizer = self.optimizers(use_pl_optimizer=False)
        self.log("train/lr", float(optimizer.param_groups[0]["lr"]), batch_size=size)
        levels = [lv for lv in batch.get("levels", []) if lv is not None]
        if levels:
            self.log("train/negative_level", float(sum(levels)) / len(levels), batch_size=size)
        now = time.perf_counter()
        if self._tick is not None:
            seconds = max(now - self._tick, 1e-9)
            world = self.trainer.world_size if self._trainer is not None else 1
            self.log("train/samples_per_s", size * world / seconds, batch_size=size)
            self.log("train/tokens_per_s", _tokens(batch) * world / seconds, batch_size=size)
        self._tick = now
        return loss

    def on_before_optimizer_step(self, optimizer: Any) -> None:
        """``train/grad_norm``: the L2 norm of the trainable (LoRA) parameters' gradients, per step."""
        grads = [p.grad.detach().float().norm() for p in self.model.parameters() if p.grad is not None]
        if grads:
            self.log("train/grad_norm", float(torch.stack(grads).norm()), batch_size=1)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if self._rng_to_restore is not None:  # first batch after a resume: continue the RNG streams
            _set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None

    def configure_optimizers(self) -> dict[str, Any]:
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = self.optimizer_factory(params)
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        total = self.total_steps or int(self.trainer.estimated_stepping_batches)
        scheduler = self.scheduler_factory(optimizer, num_training_steps=total)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }

    @property
    def loss_curve(self) -> list[dict[str, float]]:
        """``[{"step": s, "loss": mean loss of the step's batches}, ...]`` of this process."""
        return [{"step": s, "loss": sum(v) / len(v)} for s, v in sorted(self._losses.items())]

    # ---- development metrics ----------------------------------------------------------------
    def on_train_epoch_end(self) -> None:
        if self.dev_eval is None or not self.trainer.is_global_zero:  # rank 0 evaluates; the others wait
            return
        metrics = {k: float(v) for k, v in self.dev_eval(self.encoder).items()}
        metrics["epoch"] = float(self.current_epoch)
        self.dev_metrics.append(metrics)
        self.log_dict({f"dev/{k}": v for k, v in metrics.items() if k != "epoch"}, rank_zero_only=True)
        self._tick = None  # the evaluation time is not training throughput

    # ---- exact resume ----------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Only the adapter is trained: the frozen base weights come back from the model files.
        trainable = {name for name, p in self.named_parameters() if p.requires_grad}
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in trainable}
        checkpoint["rng_state"] = _get_rng_state()
        checkpoint["dev_metrics"] = self.dev_metrics
        checkpoint["losses"] = self._losses

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        trainable = {name for name, p in self.named_parameters() if p.requires_grad}
        missing = sorted(trainable - set(checkpoint["state_dict"]))
        if missing:
            raise RuntimeError(
                f"checkpoint lacks {len(missing)} adapter weights (e.g. {missing[0]}); "
                "it belongs to another model or LoRA setting"
            )
        self._rng_to_restore = checkpoint.get("rng_state")
        self.dev_metrics = list(checkpoint.get("dev_metrics", []))
        self._losses = {int(k): list(v) for k, v in checkpoint.get("losses", {}).items()}


def _get_rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
