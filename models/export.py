"""Ship a trained encoder out of the harness as a self-contained sentence-transformers folder.

:func:`export_encoder` writes one folder that ``SentenceTransformer(DIR)`` loads offline and that
gives the vectors of :class:`models.encoder.Encoder` (within float rounding): the LoRA adapter
merged into the weights (PEFT ``merge_and_unload``) and saved as safetensors with the tokenizer
(its padding side and pad token included), then sentence-transformers' own ``Pooling``
(``mean | cls | lasttoken``), ``Dense`` head and ``Normalize`` modules, and the query instruction
of paper eq. 2 (or a plain prefix) as the ``"query"`` prompt. :func:`export_adapter_set` exports a
finished adapter set: one folder, or one per aspect for a specialised set. Each folder holds a
model card (``README.md``, ids and numbers only) and its provenance (``teamform_export.json``).
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from torch import nn

from bench.core.errors import ConfigError
from bench.core.io import atomic_write_text, write_json
from models.encoder import INSTRUCTION_FORMAT, Encoder
from models.loading import attach_adapter, load_dense, path_digest, source_identity

EXPORT_FILE = "teamform_export.json"
EXPORT_FORMAT = 1
# The harness's pooling names -> sentence-transformers' pooling_mode (ATA has no counterpart).
ST_POOLING: dict[str, str] = {"mean": "mean", "cls": "cls", "last": "lasttoken"}
CARD_KEYS = (
    "adapter_key",
    "data_hash",
    "dataset",
    "synth_hash",
    "code_version",
    "training",
    "metrics",
    "confidence",
)
_TEXT_ONLY = {
    "text": {"method": "forward", "method_output_name": "last_hidden_state"}
}  # never a chat template
_ID = re.compile(
    r"\S{1,200}"
)  # ids, hashes, names, numbers: no whitespace, so no sentence of anyone's profile
_OMITTED = "(text omitted)"


def st_pooling_mode(pooling: str) -> str:
    """The sentence-transformers ``pooling_mode`` of a harness pooling name.

    Raises:
        bench.core.errors.ConfigError: ``ata`` (no sentence-transformers module computes it).
    """
    if pooling not in ST_POOLING:
        raise ConfigError(
            f"export: model.pooling={pooling} has no sentence-transformers pooling module, "
            "so the exported folder could not give the harness's vectors; "
            f"export an adapter trained with model.pooling={'|'.join(ST_POOLING)}"
        )
    return ST_POOLING[pooling]


def export_encoder(
    encoder: Encoder,
    adapter_dir: str | Path | None,
    out: str | Path,
    card_info: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``encoder`` (plus a LoRA adapter) as a sentence-transformers folder at ``out``.

    Args:
        encoder: the harness encoder; a base one with ``adapter_dir``, or one that carries its
            adapter (``model.adapter``) with ``adapter_dir=None``. It is not modified.
        adapter_dir: a PEFT adapter directory (``adapter_config.json`` + safetensors), or ``None``.
        out: the folder to write; it must be missing, empty or an earlier export (replaced).
        card_info: ids and numbers for the card, keys :data:`CARD_KEYS` (``metrics``: ``name ->
            value | {"mean": m, "ci": [low, high]}``, nested by system; ``confidence``: of the CIs).

    Returns:
        ``out``.

    Example:
        >>> enc = Encoder("bundled:minilm", device="cpu")  # doctest: +SKIP
        >>> export_encoder(enc, ".cache/adapters/KEY/global", "exported")  # doctest: +SKIP
        >>> SentenceTransformer("exported").encode(  # doctest: +SKIP
        ...     ["Project: P. Task: T"], prompt_name="query"
        ... )
    """
    st_pooling_mode(encoder.pooling)
    info = _card_info(card_info)
    out = Path(out)
    with _staging(out) as stage:
        _write_export(encoder, adapter_dir, stage, info, aspect=None, own=False)
    return out


def export_adapter_set(
    adapter_set_dir: str | Path,
    make_encoder: Callable[[], Encoder],
    out: str | Path,
    card_info: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Export a finished adapter set (``{cache_dir}/adapters/{key}/``, what ``teamform train`` writes).

    A global set becomes one folder ``out``; a specialised set one folder ``out/<aspect>/`` per
    aspect (each card says which aspect it encodes) plus ``out/teamform_export.json`` listing them.

    Args:
        adapter_set_dir: the set's directory (``metadata.json`` with ``mode`` and ``complete``).
        make_encoder: builds a fresh base :class:`models.encoder.Encoder` (the set's model preset).
        out: the folder to write; missing, empty or an earlier export (replaced).
        card_info: as for :func:`export_encoder`; key, data hash, training config and code version
            default to those of ``metadata.json``.

    Returns:
        The exported folders, one per adapter.
    """
    root = Path(adapter_set_dir)
    meta = read_adapter_set(root)
    dataset = meta.get("dataset") or {}
    info = {
        **_card_info(
            {
                "adapter_key": meta.get("key"),
                "data_hash": dataset.get("hash"),
                "dataset": dataset.get("name"),
                "synth_hash": (meta.get("synth") or {}).get("hash"),
                "code_version": meta.get("code_version"),
                "training": meta.get("train"),
            }
        ),
        **_card_info(card_info),
    }
    specialised = meta["mode"] != "global"
    out = Path(out)
    with _staging(out) as stage:
        folders: dict[str, str] = {}
        for name, entry in meta["adapters"].items():
            encoder = make_encoder()
            st_pooling_mode(encoder.pooling)
            target = stage / _safe(name) if specialised else stage
            if specialised and target.exists():
                raise ConfigError(
                    f"export: aspects of {root} clash in the folder name {target.name}; rename one of them"
                )
            training = {**(info.get("training") or {}), "steps": entry.get("steps")}
            _write_export(
                encoder,
                root / entry["dir"],
                target,
                {**info, "training": training},
                aspect=name if specialised else None,
                own=True,
            )
            folders[name] = target.name
        if specialised:
            write_json(
                stage / EXPORT_FILE,
                _ids_only(
                    {
                        "format": EXPORT_FORMAT,
                        "adapter_key": info.get("adapter_key"),
                        "mode": meta["mode"],
                        "aspects": folders,
                    }
                ),
            )
    return [out / folders[n] for n in folders] if specialised else [out]


def read_adapter_set(path: str | Path) -> dict[str, Any]:
    """The ``metadata.json`` of a finished adapter set, checked complete (every adapter on disk)."""
    path = Path(path)
    meta_path = path / "metadata.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    missing = [
        n
        for n, e in meta.get("adapters", {}).items()
        if not (path / e.get("dir", n) / "adapter_config.json").is_file()
    ]
    if (
        not meta.get("complete")
        or not meta.get("adapters")
        or missing
        or meta.get("mode") not in ("global", "specialised")
    ):
        why = (
            f"adapters {', '.join(missing)} are missing"
            if missing
            else "its metadata.json is missing, not complete or has no mode"
        )
        raise ConfigError(
            f"export: the adapter set {path} is unfinished ({why}); run `teamform train` again to finish it"
        )
    return meta


# ---- one folder ---------------------------------------------------------------------------------
def _write_export(
    encoder: Encoder,
    adapter_dir: str | Path | None,
    target: Path,
    info: Mapping[str, Any],
    aspect: str | None,
    own: bool,
) -> None:
    """Merge, save and describe one encoder into the new folder ``target``."""
    adapter = str(adapter_dir) if adapter_dir is not None else encoder.adapter
    weights = target.parent / f".{target.name}.weights"
    try:
        body = _merged_body(encoder, adapter_dir, own)
        body.save_pretrained(str(weights), safe_serialization=True)
        _check_saved_weights(weights, body)
        del body
        encoder.tokenizer.save_pretrained(str(weights))
        model = _sentence_transformer(encoder, weights)
        model.save(str(target), create_model_card=False)
    finally:
        shutil.rmtree(weights, ignore_errors=True)
    _pin_tokenizer(target, encoder)
    record = _provenance(encoder, adapter, info, aspect, model)
    write_json(target / EXPORT_FILE, record)
    atomic_write_text(target / "README.md", _card(record, info))


def _merged_body(encoder: Encoder, adapter_dir: str | Path | None, own: bool) -> nn.Module:
    """The transformer body with the adapter merged into its weights, prepacked kernels undone."""
    if adapter_dir is not None and encoder.adapter:
        raise ConfigError(
            f"export: the encoder already carries the adapter {encoder.adapter}; give a base encoder "
            "(model.adapter=null) with adapter_dir, or adapter_dir=None"
        )
    body = encoder.model  # the property undoes prepacked oneDNN linears (models.prepack)
    if adapter_dir is not None:
        return attach_adapter(body if own else copy.deepcopy(body), str(adapter_dir), merge=True)
    if hasattr(body, "merge_and_unload"):  # an unmerged PEFT model (merge_adapter=false, or in training)
        return copy.deepcopy(body).merge_and_unload()
    return body


def _check_saved_weights(folder: Path, body: nn.Module) -> None:
    """The saved tensors are the merged body's state dict: no LoRA or prepacking leftovers."""
    from safetensors import safe_open

    packed = [n for n, m in body.named_modules() if "forward" in m.__dict__]
    state = body.state_dict()
    saved: set[str] = set()
    for file in folder.glob("*.safetensors"):
        with safe_open(str(file), "pt") as handle:
            saved |= set(handle.keys())
    extra = sorted(k for k in saved if k not in state or "lora_" in k or ".base_layer." in k)
    kept = {state[k].data_ptr() for k in saved if k in state}
    missing = sorted(k for k in state.keys() - saved if state[k].data_ptr() not in kept)  # tied copies may go
    if packed or extra or missing:
        raise RuntimeError(
            f"export: saved weights do not match the merged model (packed {packed[:2]}, unexpected "
            f"{extra[:2]}, missing {missing[:2]}); this is a bug in models/export.py"
        )


def _sentence_transformer(encoder: Encoder, weights: Path) -> Any:
    """sentence-transformers modules that reproduce :meth:`models.encoder.Encoder._forward`."""
    from sentence_transformers import SentenceTransformer

    try:
        from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
    except ImportError:  # sentence-transformers < 5.4
        from sentence_transformers.models import Dense, Normalize, Pooling, Transformer
    lengths = encoder.max_length
    wanted: dict[str, Any] = {
        "max_seq_length": lengths["document"],
        "modality_config": _TEXT_ONLY,
        "module_output_name": "token_embeddings",
    }
    if lengths["query"] != lengths["document"]:
        wanted |= {"query_length": lengths["query"], "document_length": lengths["document"]}
    accepted = inspect.signature(Transformer.__init__).parameters
    if encoder.trust_remote_code:
        for key in (
            ("model_kwargs", "processor_kwargs", "config_kwargs")
            if "model_kwargs" in accepted
            else ("model_args", "tokenizer_args", "config_args")
        ):
            wanted[key] = {"trust_remote_code": True}
    body = Transformer(str(weights), **{k: v for k, v in wanted.items() if k in accepted})
    modules: list[nn.Module] = [
        body,
        Pooling(_dimension(body), pooling_mode=st_pooling_mode(encoder.pooling)),
    ]
    if encoder.dense_folder:
        linear, activation = load_dense(encoder.source, encoder.dense_folder)
        modules.append(
            Dense(
                linear.in_features,
                linear.out_features,
                bias=linear.bias is not None,
                activation_function=activation,
                init_weight=linear.weight.detach().clone(),
                init_bias=None if linear.bias is None else linear.bias.detach().clone(),
            )
        )
    if encoder.normalize:
        modules.append(Normalize())
    return SentenceTransformer(
        modules=modules,
        device="cpu",
        prompts=prompts(encoder),
        similarity_fn_name="cosine" if encoder.normalize else "dot",
    )


def _dimension(module: Any) -> int:
    """Output size of a sentence-transformers module or model (the method was renamed in v5.4)."""
    names = ("get_embedding_dimension", "get_sentence_embedding_dimension", "get_word_embedding_dimension")
    return next(getattr(module, n) for n in names if hasattr(module, n))()


def prompts(encoder: Encoder) -> dict[str, str]:
    """``{"query": ..., "document": ...}``: the heads :meth:`Encoder.format` puts before texts.

    The query head is ``"Instruct: {instruction}\\nQuery: "`` (paper eq. 2) when the preset sets an
    instruction, else its plain query prefix; ``""`` means no prompt.
    """
    head = (
        INSTRUCTION_FORMAT.format(instruction=encoder.query_instruction)
        if encoder.query_instruction
        else encoder.query_prefix
    )
    return {"query": head, "document": encoder.document_prefix}


def _pin_tokenizer(folder: Path, encoder: Encoder) -> None:
    """Write the padding side into ``tokenizer_config.json`` (``save_pretrained`` leaves it out)."""
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["padding_side"] = encoder.tokenizer.padding_side
    for key in ("is_local", "local_files_only"):  # loading flags of the export run, not of the model
        config.pop(key, None)
    write_json(path, config)


# ---- out directory --------------------------------------------------------------------------------
@contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """Build an export in ``.{out}.export-tmp`` next to ``out``; swap it in only when it is complete."""
    if out.is_file() or (out.is_dir() and any(out.iterdir()) and not (out / EXPORT_FILE).is_file()):
        raise ConfigError(
            f"export: {out} is not empty and is not an earlier export (no {EXPORT_FILE}); "
            "give a new or empty directory"
        )
    stage = out.parent / f".{out.name}.export-tmp"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        yield stage
        shutil.rmtree(out, ignore_errors=True)
        stage.replace(out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


# ---- provenance and model card ----------------------------------------------------------------------
def _card_info(info: Mapping[str, Any] | None) -> dict[str, Any]:
    unknown = sorted(set(info or {}) - set(CARD_KEYS))
    if unknown:
        raise ConfigError(f"export: unknown card_info key {unknown[0]!r}; use: {', '.join(CARD_KEYS)}")
    return {k: v for k, v in (info or {}).items() if v is not None}


def _ids_only(value: Any) -> Any:
    """``value`` with every string that is not an id (it has whitespace) replaced: no free text."""
    if isinstance(value, Mapping):
        return {_ids_only(str(k)): _ids_only(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_ids_only(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value) if _ID.fullmatch(str(value)) else _OMITTED


def _adapter_summary(adapter: str) -> dict[str, Any]:
    """r, alpha, target modules... of ``adapter_config.json``, and the adapter's content digest."""
    config = json.loads((Path(adapter) / "adapter_config.json").read_text(encoding="utf-8"))
    summary = {
        k: config.get(k)
        for k in ("peft_type", "r", "lora_alpha", "lora_dropout", "target_modules", "use_dora", "use_rslora")
    }
    if isinstance(summary["target_modules"], list):
        summary["target_modules"] = sorted(summary["target_modules"])
    return {**summary, "digest": "sha256:" + path_digest(adapter)}


def _provenance(
    encoder: Encoder, adapter: str | None, info: Mapping[str, Any], aspect: str | None, model: Any
) -> dict[str, Any]:
    import sentence_transformers
    import transformers

    source = encoder.source
    hub_id = None if source.is_local else source.path
    given = encoder.name_or_path  # a hub id or bundled:<name> as given; of a local path only its last part
    given = given if given.startswith("bundled:") or not source.is_local else Path(given).name
    record = {
        "format": EXPORT_FORMAT,
        "exported_by": "teamform-export",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "base_model": {
            "name": encoder.name,
            "name_or_path": given,
            "hub_id": hub_id,
            "revision": source.revision,
            "gguf_file": source.gguf_file,
            "identity": source_identity(source),
        },
        "adapter": {"key": info.get("adapter_key"), "name": aspect or "global", **_adapter_summary(adapter)}
        if adapter
        else None,
        "aspect": aspect,
        "dataset": info.get("dataset"),
        "data_hash": info.get("data_hash"),
        "synth_hash": info.get("synth_hash"),
        "code_version": info.get("code_version"),
        "encoding": {
            "pooling": encoder.pooling,
            "st_pooling_mode": st_pooling_mode(encoder.pooling),
            "normalize": encoder.normalize,
            "dense": encoder.dense_folder,
            "dtype": str(encoder.dtype).removeprefix("torch."),
            "max_query_length": encoder.max_length["query"],
            "max_doc_length": encoder.max_length["document"],
            "padding_side": encoder.tokenizer.padding_side,
            "query_instruction": bool(encoder.query_instruction),
            "prompts": {k: bool(v) for k, v in prompts(encoder).items()},
            "trust_remote_code": encoder.trust_remote_code,
            "dim": int(_dimension(model)),
        },
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "transformers": transformers.__version__,
        },
    }
    return _ids_only(record)


def _metric_rows(metrics: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Table rows of ``name -> value | {"mean": m, "ci": [low, high]}``, nested by system."""
    for name, value in metrics.items():
        label = f"{prefix}{_ids_only(str(name))}"
        if isinstance(value, Mapping) and "mean" not in value:
            yield from _metric_rows(value, f"{label} / ")
            continue
        mean, ci = (value["mean"], value.get("ci")) if isinstance(value, Mapping) else (value, None)
        yield f"| {label} | {_num(mean)} | {f'[{_num(ci[0])}, {_num(ci[1])}]' if ci else '-'} |"


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-" if value is None else str(_ids_only(value))


_CARD = """---
library_name: sentence-transformers
pipeline_tag: sentence-similarity
tags: [sentence-transformers, feature-extraction, teamform-bench, lora-merged]
---

# {name}{for_aspect} (teamform-bench export)

Base model `{base}` (`{identity}`){merged}, exported by `teamform export`.{aspect_note}

## Use

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("path/to/this/folder", local_files_only=True)
tasks = model.encode(["Project: ... Task: ..."]{query_arg})
employees = model.encode(["..."]{document_arg})
```

(sentence-transformers >= 5.4: `model.encode_query` / \
`model.encode_document` pick the prompts and lengths themselves.)

Pooling `{pooling}`, {normalised}{dense}{dim} dimensions, \
{dtype} weights, padding on the {padding_side}.{instruction}
Texts are cut at {max_doc_length} tokens{query_length}. \
Strip spaces at both ends of each text first, as the harness
does; the vectors then equal the harness's within float rounding.
{adapter}
## Provenance

| dataset | data hash | synthetic data hash | code version | created |
|---|---|---|---|---|
| {dataset} | {data_hash} | {synth_hash} | {code_version} | {created} |
{training}{metrics}
## Intended use

Ranking employees for enterprise tasks (team formation) as \
decision support for a person who decides, on data like
the data set above; research on fine-tuning embedding models with synthetic data.

## Limits

- Fine-tuned on LLM-generated (synthetic) tasks and labels; the metrics hold for the data set above only.
- Not for automated decisions about people (hiring, promotion, \
dismissal); it carries the biases of the base model and
  of the synthetic data.
- Texts longer than the maximum length lose their tail.

## Personal data

Fine-tuning on employee profiles can memorise parts of them \
in the weights: keep this folder under the same access,
retention and deletion rules as the employee data it was \
trained on, and do not publish it when that data is private.
This card and `teamform_export.json` hold ids and numbers only, no employee text.
"""


def _card(record: Mapping[str, Any], info: Mapping[str, Any]) -> str:
    """``README.md``: what the folder is, how to call it, where it comes from, what not to use it for."""
    base, adapter, enc, aspect = record["base_model"], record["adapter"], record["encoding"], record["aspect"]
    fields = {k: _num(record[k]) for k in ("dataset", "data_hash", "synth_hash", "code_version", "created")}
    if adapter:
        targets = adapter["target_modules"]
        adapter = (
            "\n## Adapter\n\n| r | alpha | target modules | dropout | DoRA | rsLoRA | adapter key |\n"
            f"|---|---|---|---|---|---|---|\n| {adapter['r']} | {adapter['lora_alpha']} | "
            f"{', '.join(targets) if isinstance(targets, list) else targets} | {adapter['lora_dropout']} | "
            f"{adapter['use_dora']} | {adapter['use_rslora']} | {_num(adapter['key'])} |\n"
        )
    training = info.get("training")
    metrics = info.get("metrics")
    level = round(100 * float(info.get("confidence", 0.95)))
    return _CARD.format(
        name=base["name"],
        base=base["name_or_path"],
        identity=base["identity"],
        **fields,
        for_aspect=f" for the aspect `{aspect}`" if aspect else "",
        merged=" with its LoRA adapter merged into the weights" if adapter else "",
        aspect_note=(
            f"\n\nThis folder encodes the aspect **`{aspect}`** of employee profiles "
            "(one folder per aspect of a specialised adapter set): "
            f"embed each employee's `{aspect}` text, and the tasks, with it to rank for that aspect."
        )
        if aspect
        else "",
        query_arg=', prompt_name="query"' if enc["prompts"]["query"] else "",
        document_arg=', prompt_name="document"' if enc["prompts"]["document"] else "",
        pooling=enc["st_pooling_mode"],
        normalised="L2-normalised, " if enc["normalize"] else "",
        dense=f"Dense head `{enc['dense']}`, " if enc["dense"] else "",
        dim=enc["dim"],
        dtype=enc["dtype"],
        padding_side=enc["padding_side"],
        max_doc_length=enc["max_doc_length"],
        instruction=(
            " The query prompt is the instruction of paper eq. 2 (see `config_sentence_transformers.json`)."
        )
        if enc["query_instruction"]
        else "",
        query_length=(
            f" (queries at {enc['max_query_length']} in the harness: "
            "`encode_query` applies that length; with `encode` cut long queries yourself)"
        )
        if enc["max_query_length"] != enc["max_doc_length"]
        else "",
        adapter=adapter or "",
        training=(
            "\n## Training config\n\n```json\n"
            f"{json.dumps(_ids_only(training), indent=2, sort_keys=True)}\n```\n"
        )
        if training
        else "",
        metrics=f"\n## Metrics\n\n| metric | mean | {level}% CI |\n|---|---|---|\n"
        + "\n".join(_metric_rows(metrics))
        + "\n"
        if metrics
        else "",
    )
