"""Loading Hugging Face encoders (hub id, local directory or GGUF file) and identifying them.

Everything :class:`models.encoder.Encoder` needs besides the forward pass: device and dtype
choice, tokenizer / model / sentence-transformers ``Dense`` head / PEFT adapter loading, and the
content identity of model files for cache keys.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.core.errors import ConfigError, ModelUnavailable, unknown_choice

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a hub id or a local directory, plus an optional GGUF file.

    Attributes:
        path: hub id (``BAAI/bge-large-en-v1.5``) or local directory.
        gguf_file: a GGUF file name inside :attr:`path` (or an absolute path), else ``None``.
        revision: hub branch, tag or commit (``None``: the default branch).
    """

    path: str
    gguf_file: str | None = None
    revision: str | None = None

    @property
    def is_local(self) -> bool:
        return Path(self.path).is_dir()

    @classmethod
    def parse(
        cls, name_or_path: str, gguf_file: str | None = None, revision: str | None = None
    ) -> ModelSource:
        """Split ``dir/model.gguf`` into ``(dir, model.gguf)``; other values pass through."""
        path = Path(name_or_path)
        if gguf_file is None and path.suffix == ".gguf":
            if not path.is_file():
                raise ConfigError(f"model.name_or_path: GGUF file {name_or_path} does not exist")
            return cls(str(path.parent), path.name, revision)
        return cls(str(name_or_path), gguf_file, revision)

    def from_pretrained_kwargs(self, trust_remote_code: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        if self.revision:
            kwargs["revision"] = self.revision
        if self.gguf_file:
            kwargs["gguf_file"] = self.gguf_file
        return kwargs


def resolve_device(device: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU; other values go to :class:`torch.device`."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto``: bfloat16 on a GPU that supports it, float16 on other GPUs, float32 on the CPU."""
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in DTYPES:
        raise unknown_choice("model.dtype", dtype, [*DTYPES, "auto"])
    return DTYPES[dtype]


def not_found(source: ModelSource, error: OSError) -> ModelUnavailable:
    """The one-line error for model files that cannot be found or fetched."""
    reason = " ".join(str(error).split())[:300]
    return ModelUnavailable(
        f"model.name_or_path={source.path!r} cannot be loaded ({reason}); give a local model directory, "
        "a .gguf file or a Hugging Face hub id (with HF_HUB_OFFLINE=1 it must already be in the hub cache)"
    )


def needs_remote_code(source: ModelSource) -> ConfigError:
    """The error for a model whose repository code would have to run (``trust_remote_code``)."""
    return ConfigError(
        f"model {source.path} only loads with its repository's own Python code; read that code, and if "
        "you trust it set model.trust_remote_code=true"
    )


def load_tokenizer(source: ModelSource, trust_remote_code: bool, padding_side: str | None):
    """The tokenizer, with a pad token (decoders often lack one: EOS, else UNK, is used)."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            source.path, **source.from_pretrained_kwargs(trust_remote_code)
        )
    except OSError as error:  # no such directory or hub id, offline without a cached copy
        raise not_found(source, error) from None
    except ValueError as error:
        if trust_remote_code or "trust_remote_code" not in str(error):
            raise
        raise needs_remote_code(source) from None
    if padding_side is not None:
        if padding_side not in ("left", "right"):
            raise ConfigError(f"model.padding_side must be left or right, not {padding_side!r}")
        tokenizer.padding_side = padding_side
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.unk_token
    if tokenizer.pad_token_id is None:
        raise ConfigError(f"the tokenizer of {source.path} has no pad, EOS or UNK token to pad batches with")
    return tokenizer


def load_model(
    source: ModelSource,
    *,
    trust_remote_code: bool,
    dtype: torch.dtype,
    eager_attention: bool,
    model_kwargs: dict[str, Any] | None,
) -> torch.nn.Module:
    """The transformer body: ``AutoModel``, or the encoder alone of encoder-decoder models (T5).

    A T5-family checkpoint is loaded as its encoder (``T5EncoderModel``) whether its config says
    ``is_encoder_decoder: true`` (the hub's sentence-t5) or ``false`` (what
    ``T5EncoderModel.save_pretrained`` writes in transformers 5, so a re-saved or exported
    copy): ``AutoModel`` would build the whole encoder-decoder, whose forward needs decoder inputs.

    Args:
        source: where the files are.
        trust_remote_code: run the repository's own modelling code (only when a preset says so).
        dtype: parameter dtype.
        eager_attention: load the eager attention kernel (ATA pooling needs attention
            probabilities, which fused kernels do not return).
        model_kwargs: extra config values, e.g. ``{"use_memory_efficient_attention": false}``.
    """
    from transformers import AutoConfig, AutoModel, AutoModelForTextEncoding
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES,
    )

    kwargs = source.from_pretrained_kwargs(trust_remote_code)
    try:
        config = AutoConfig.from_pretrained(source.path, **kwargs, **(model_kwargs or {}))
    except OSError as error:
        raise not_found(source, error) from None
    except ValueError as error:
        if trust_remote_code or "trust_remote_code" not in str(error):
            raise
        raise needs_remote_code(source) from None
    model_type = getattr(config, "model_type", None)
    encoder_of_seq2seq = (  # t5, mt5, umt5, t5gemma: their text encoder, whatever the flag says
        model_type in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES
        and model_type in MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES
    )
    encoder_decoder = getattr(config, "is_encoder_decoder", False) or encoder_of_seq2seq
    cls = AutoModelForTextEncoding if encoder_decoder else AutoModel
    extra: dict[str, Any] = {"attn_implementation": "eager"} if eager_attention else {}
    return cls.from_pretrained(source.path, config=config, dtype=dtype, **kwargs, **extra)


def load_dense(source: ModelSource, folder: str) -> torch.nn.Module:
    """A sentence-transformers ``Dense`` head (``folder`` holds ``config.json`` and weights).

    sentence-t5 and stella put a linear projection after pooling; its config has
    ``in_features``, ``out_features``, ``bias`` and ``activation_function``.
    """
    if source.is_local:
        root = Path(source.path) / folder
    else:
        from huggingface_hub import snapshot_download

        root = (
            Path(snapshot_download(source.path, revision=source.revision, allow_patterns=[f"{folder}/*"]))
            / folder
        )
    config_path = root / "config.json"
    if not config_path.is_file():
        raise ConfigError(
            f"model.dense: {config_path} does not exist; name the Dense folder of the model (e.g. 2_Dense)"
        )
    config = json.loads(config_path.read_text())
    activation = config.get("activation_function", "torch.nn.modules.linear.Identity").rsplit(".", 1)[-1]
    if activation not in ("Identity", "Tanh"):
        raise ConfigError(f"{config_path}: activation {activation!r} is not supported (Identity or Tanh)")
    linear = torch.nn.Linear(config["in_features"], config["out_features"], bias=config.get("bias", True))
    if (root / "model.safetensors").is_file():
        from safetensors.torch import load_file

        state = load_file(str(root / "model.safetensors"))
    else:
        state = torch.load(root / "pytorch_model.bin", map_location="cpu", weights_only=True)
    linear.load_state_dict({k.removeprefix("linear."): v for k, v in state.items()})
    return torch.nn.Sequential(linear, torch.nn.Tanh() if activation == "Tanh" else torch.nn.Identity())


def attach_adapter(model: torch.nn.Module, adapter: str, merge: bool) -> torch.nn.Module:
    """Load a PEFT adapter directory onto ``model``; merged into the weights for inference."""
    if not (Path(adapter) / "adapter_config.json").is_file():
        raise ConfigError(
            f"model.adapter: {adapter} has no adapter_config.json; point it at a saved PEFT adapter directory"
        )
    if not (Path(adapter) / "adapter_model.safetensors").is_file():
        raise ConfigError(
            f"model.adapter: {adapter} has no adapter_model.safetensors; "
            "adapters are loaded from safetensors only (pickled .bin weights can run code when loaded): "
            "save it with save_pretrained(safe_serialization=True)"
        )
    from peft import PeftModel

    peft_model = PeftModel.from_pretrained(model, adapter)  # reads adapter_model.safetensors (checked above)
    return peft_model.merge_and_unload() if merge else peft_model


# ---- identity of files, for cache keys ---------------------------------------------------------
_SAMPLE = 1 << 20  # bytes read per sample of a large file
_FULL_HASH_LIMIT = 64 << 20  # files up to this size are hashed whole


def file_digest(path: Path) -> str:
    """SHA-256 of a file; files over 64 MiB hash their size and 16 spread 1 MiB samples.

    Weight files change everywhere when a model is re-trained or re-quantised, so samples
    identify them while keeping multi-GB checkpoints quick to fingerprint.
    """
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        if size <= _FULL_HASH_LIMIT:
            for block in iter(lambda: handle.read(_SAMPLE), b""):
                digest.update(block)
        else:
            for k in range(16):
                handle.seek((size - _SAMPLE) * k // 15)
                digest.update(handle.read(_SAMPLE))
    return digest.hexdigest()


def path_digest(path: str | os.PathLike[str]) -> str:
    """Digest of a file, or of every file under a directory (relative names + contents)."""
    root = Path(path)
    if root.is_file():
        return file_digest(root)
    digest = hashlib.sha256()
    for file in sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(s.startswith(".") for s in p.parts[len(root.parts) :])
    ):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file_digest(file).encode())
    return digest.hexdigest()


def hub_commit(repo_id: str, revision: str | None) -> str | None:
    """The commit a hub id resolves to (from the local cache or the hub), without loading weights."""
    try:
        from huggingface_hub import hf_hub_download

        config = Path(hf_hub_download(repo_id, "config.json", revision=revision))
    except Exception:  # noqa: BLE001 - offline and not cached: the caller falls back to the name
        return None
    return config.parent.name if config.parent.parent.name == "snapshots" else None


def source_identity(source: ModelSource) -> str:
    """What makes a model's weights what they are: a content digest, or the hub commit."""
    if source.is_local:
        target = Path(source.path) / source.gguf_file if source.gguf_file else Path(source.path)
        return "sha256:" + path_digest(target)
    commit = hub_commit(source.path, source.revision)
    identity = f"hub:{source.path}@{commit or source.revision or 'main'}"
    return identity + (f"/{source.gguf_file}" if source.gguf_file else "")
