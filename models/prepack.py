"""Prepacked oneDNN linear layers for fp32 inference on a CPU.

Three quarters of a small encoder's CPU time is its linear layers (``addmm``), which already run
near the core's fp32 peak; the rest is what surrounds them. :func:`prepack` gives every plain
``nn.Linear`` of a frozen model a second, inference-only forward through oneDNN
(``torch.ops.mkldnn._linear_pointwise``, the kernel PyTorch's inductor emits for CPU linears):

- the weight is reordered once into oneDNN's blocked layout (``_reorder_linear_weight``) instead
  of on every call;
- the bias is added inside the GEMM, where ``addmm`` first copies the broadcast bias into the
  output (6% of MiniLM's time at one thread);
- an exact (erf) GELU that directly follows a linear layer, as in BERT's ``intermediate.dense``
  + ``intermediate_act_fn``, runs as the GEMM's post-op on the output while it is in cache.

On the 512 aspect texts of ``tests/perf/test_perf_encoding.py`` (all-MiniLM-L6-v2, one thread)
this takes a pass from 4.54 s to 4.37 s with the same vectors within 3e-7 (oneDNN and MKL sum in
a different order). The state dict, module names and classes are untouched: the packed forward
is an instance attribute, the packed weight a plain attribute (not a buffer), and it is used only
without autograd (``torch.inference_mode`` / ``torch.no_grad``) on fp32 CPU inputs; anything else
takes the module's own forward. :meth:`Prepacked.undo` restores the model exactly, which
:class:`models.encoder.Encoder` does before it hands its model to anyone (training included):
an in-place edit of a packed layer's weight is not seen by the packed copy.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

# Prepacking keeps a second copy of the linear weights; above this many bytes of them it is
# skipped unless asked for (a 1.5B-parameter decoder in fp32 holds ~6 GB of linear weights).
AUTO_MAX_BYTES = 2 * 1024**3
_PACKED = "_teamform_packed"


def available() -> bool:
    """Whether this PyTorch build has oneDNN's linear kernels (x86 and arm64 CPU wheels do)."""
    ops = torch.ops.mkldnn
    return bool(torch.backends.mkldnn.is_available()) and all(
        hasattr(ops, name) for name in ("_linear_pointwise", "_reorder_linear_weight")
    )


def linear_bytes(model: nn.Module) -> int:
    """Bytes of the weights of the model's plain ``nn.Linear`` layers."""
    return sum(m.weight.numel() * m.weight.element_size() for m in model.modules() if type(m) is nn.Linear)


def eligible(model: nn.Module, device: torch.device, dtype: torch.dtype) -> str | None:
    """Why prepacking cannot apply to ``model`` (``None``: it can)."""
    if device.type != "cpu" or dtype != torch.float32:
        return f"prepacking is for fp32 on a CPU, not {dtype} on {device.type}"
    if not available():
        return "this PyTorch build has no oneDNN linear kernels"
    if any(p.requires_grad for p in model.parameters()):
        return "the model has trainable parameters"
    return None


@dataclass
class Prepacked:
    """What :func:`prepack` changed, to put back with :meth:`undo`."""

    linears: list[nn.Linear] = field(default_factory=list)
    activations: list[tuple[nn.Module, str, nn.Module]] = field(
        default_factory=list
    )  # (parent, attribute, activation)

    @property
    def fused_activations(self) -> int:
        return len(self.activations)

    def undo(self) -> None:
        """Give every layer back its own forward and every fused activation back to its parent."""
        for linear in self.linears:
            linear.__dict__.pop("forward", None)
            linear.__dict__.pop(_PACKED, None)
        for parent, name, activation in self.activations:
            setattr(parent, name, activation)
        self.linears.clear()
        self.activations.clear()


@dataclass(frozen=True)
class _Packed:
    weight: torch.Tensor  # oneDNN-blocked copy of linear.weight
    source: torch.Tensor  # the weight it was packed from (a re-bound weight falls back)
    post_op: str  # "none" or "gelu"

    @property
    def algorithm(self) -> str:
        return "none" if self.post_op == "gelu" else ""  # oneDNN's GELU variant "none" is the exact (erf) one


def prepack(model: nn.Module) -> Prepacked:
    """Pack the plain ``nn.Linear`` layers of a frozen fp32 CPU model for inference, in place.

    A parent module holding a linear ``dense`` and an exact GELU ``intermediate_act_fn`` (BERT,
    RoBERTa, XLM-R, MPNet...) gets the GELU fused into the GEMM and an ``nn.Identity`` in its
    place. Layers another handle packed are left to it. Call :func:`eligible` first.

    Args:
        model: the transformer body, in eval mode, with no parameter requiring gradients.

    Returns:
        The handle whose :meth:`Prepacked.undo` restores the model.

    Example:
        >>> layer = nn.Linear(4, 2).requires_grad_(False)
        >>> handle = prepack(layer)
        >>> with torch.inference_mode():
        ...     torch.allclose(layer(torch.ones(3, 4)),
        ...                    torch.nn.functional.linear(torch.ones(3, 4), layer.weight, layer.bias))
        True
        >>> handle.undo()
    """
    handle = Prepacked()
    fused: set[int] = set()
    for parent in model.modules():
        dense, activation = getattr(parent, "dense", None), getattr(parent, "intermediate_act_fn", None)
        if _packable(dense) and _is_exact_gelu(activation):
            _pack(dense, "gelu", handle)
            handle.activations.append((parent, "intermediate_act_fn", activation))
            parent.intermediate_act_fn = nn.Identity()
            fused.add(id(dense))
    for module in model.modules():
        if _packable(module) and id(module) not in fused:
            _pack(module, "none", handle)
    return handle


def _packable(module: Any) -> bool:
    """A plain ``nn.Linear`` not packed already (by another handle on a shared model)."""
    return type(module) is nn.Linear and _PACKED not in module.__dict__


def _is_exact_gelu(activation: Any) -> bool:
    """``transformers``' ``GELUActivation`` over ``F.gelu`` (erf), or ``nn.GELU()``."""
    if isinstance(activation, nn.GELU):
        return activation.approximate == "none"
    return (
        type(activation).__name__ == "GELUActivation"
        and getattr(activation, "act", None) is nn.functional.gelu
    )


def _pack(linear: nn.Linear, post_op: str, handle: Prepacked) -> None:
    packed = _Packed(torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach()), linear.weight, post_op)
    linear.__dict__[_PACKED] = packed
    linear.forward = types.MethodType(_packed_forward, linear)
    handle.linears.append(linear)


def _packed_forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    packed: _Packed = self.__dict__[_PACKED]
    if (
        torch.is_grad_enabled()
        or x.device.type != "cpu"
        or x.dtype != torch.float32
        or self.weight is not packed.source
    ):
        y = nn.functional.linear(x, self.weight, self.bias)
        return nn.functional.gelu(y) if packed.post_op == "gelu" else y
    bias = None if self.bias is None else self.bias.detach()
    return torch.ops.mkldnn._linear_pointwise(x, packed.weight, bias, packed.post_op, [], packed.algorithm)
