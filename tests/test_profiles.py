"""``profile=short`` is ``profile=default`` with the three changes docs/performance.md measures, no more."""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf, open_dict


def _flat(node: object, prefix: str = "") -> dict[str, object]:
    if isinstance(node, dict):
        out: dict[str, object] = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: node}


def _resolved(cfg: DictConfig) -> dict[str, object]:
    """Every resolved key of a composed config but Hydra's own (which resolve only inside a run)."""
    with open_dict(cfg):
        cfg.pop("hydra")
    return _flat(OmegaConf.to_container(cfg, resolve=True))


def test_short_differs_from_default_only_where_it_says(compose_config) -> None:
    default, short = (_resolved(compose_config(f"profile={p}")) for p in ("default", "short"))
    changed = {key: (default.get(key), short.get(key)) for key in default.keys() | short.keys()}
    changed = {key: pair for key, pair in changed.items() if pair[0] != pair[1]}
    assert changed == {
        "profile_name": ("default", "short"),
        "scale.employees": (300, 150),
        "data.n_employees": (300, 150),
        "train.max_steps": (24, 8),
        "train.lora.dropout": (0.05, 0.0),
    }


def test_short_keeps_the_defaults_launcher_and_study(compose_config) -> None:
    default, short = compose_config("profile=default"), compose_config("profile=short")
    assert short.hydra.launcher.n_jobs == default.hydra.launcher.n_jobs == 2
    assert short.train.batch_size == default.train.batch_size
    assert short.scale.eval_tasks == default.scale.eval_tasks
