"""A target agent packaged as an MLflow pyfunc model, so the registry can version, alias and serve it.

The model carries only its configuration (the JSON artifact ``agent_config``, also logged as ``model_config`` so
load-time overrides work):

``name``, ``version``, ``system_prompt``, ``model``, ``tools``, ``provider`` (provider settings, no secrets),
``factory`` (dotted path ``package.module:attribute`` of a target factory, default ``agents.targets:get_target``),
optional ``factory_kwargs``, and ``setup`` (dotted path of a start-up function called once on load, default
``agents.setup:register_offline_handlers``, so the offline model can answer in the serving process; ``""`` for none).

On load, the setup runs, then the factory is imported and called as ``factory(name, version, **factory_kwargs)``;
a failing import is a clear :class:`AgentFactoryError`. The target it returns answers in one of three ways, tried
in this order:
``respond(history: list[Turn], seed) -> Turn`` (the ``agents.targets`` interface; system messages are dropped
because the target owns its system prompt), a callable ``fn(messages) -> str``, or ``invoke(messages)``.
``load_model(uri, model_config={...})`` overrides configuration keys at load time.

``predict`` takes a DataFrame with a ``messages`` column (a JSON string of ``[{"role", "content"}]`` per row), a
list of ``{"messages": [...]}`` records, or one conversation as a list of ``{"role", "content"}`` dicts, and
returns one reply string per conversation. Param ``seed`` (default 0) is passed to ``respond``.

``echo_target`` is a dependency-free reference target (``services.pyfunc_agent:echo_target``) for tests and smoke
checks: it answers ``[name@version] echo: <last user message>``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

CONFIG_ARTIFACT = "agent_config"
DEFAULT_FACTORY = "agents.targets:get_target"
DEFAULT_SETUP = "agents.setup:register_offline_handlers"
ECHO_FACTORY = "services.pyfunc_agent:echo_target"
Messages = list[dict[str, str]]


class AgentFactoryError(RuntimeError):
    """The target factory named in the agent configuration could not be imported or called."""


def normalise_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A complete, JSON-serialisable agent configuration (defaults filled in); raises ValueError when invalid."""
    missing = [k for k in ("name", "version") if not str(config.get(k) or "").strip()]
    if missing:
        raise ValueError(f"agent config needs {', '.join(missing)}")
    cfg: dict[str, Any] = {"system_prompt": "", "model": "unknown", "tools": [], "provider": {},
                           "factory": DEFAULT_FACTORY, "factory_kwargs": {}, "setup": DEFAULT_SETUP,
                           **dict(config)}
    cfg["name"], cfg["version"] = str(cfg["name"]), str(cfg["version"])
    cfg["tools"] = [str(t) for t in cfg["tools"]]
    try:
        json.dumps(cfg)
    except TypeError as exc:
        raise ValueError(f"agent config must be JSON-serialisable: {exc}") from exc
    return cfg


def resolve_factory(ref: str, what: str = "target factory") -> Callable[..., Any]:
    """Import ``package.module:attribute``; raises AgentFactoryError naming the reference when that fails."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise AgentFactoryError(f"{what} must be 'package.module:attribute', got {ref!r}")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise AgentFactoryError(f"cannot import {what} {ref!r}: {type(exc).__name__}: {exc}") from exc
    if not callable(obj):
        raise AgentFactoryError(f"{what} {ref!r} is not callable")
    return obj  # type: ignore[no-any-return]


def build_target(config: Mapping[str, Any]) -> Any:
    """Run the configured ``setup``, then call the factory as ``factory(name, version, **factory_kwargs)``."""
    if config.get("setup"):
        resolve_factory(str(config["setup"]), "setup function")()
    factory = resolve_factory(str(config["factory"]))
    try:
        return factory(config["name"], config["version"], **dict(config.get("factory_kwargs") or {}))
    except Exception as exc:
        raise AgentFactoryError(f"target factory {config['factory']!r} failed for "
                                f"{config['name']}@{config['version']}: {exc}") from exc


def _text(out: Any) -> str:
    """Reply text from a string, a message/Turn-like object (``.content``) or a mapping with ``content``."""
    if isinstance(out, str):
        return out
    if isinstance(out, Mapping) and "content" in out:
        return str(out["content"])
    if hasattr(out, "content"):
        return str(out.content)
    raise TypeError(f"target returned {type(out).__name__}; expected text or a message with content")


def reply_of(target: Any, messages: Messages, seed: int = 0) -> str:
    """Ask ``target`` for the next assistant reply to ``messages``."""
    if hasattr(target, "respond"):
        from core.contracts import Turn

        history = [Turn(role=m["role"], content=m["content"]) for m in messages  # type: ignore[arg-type]
                   if m["role"] in ("user", "assistant")]
        return _text(target.respond(history, seed))
    if callable(target):
        return _text(target(messages))
    if hasattr(target, "invoke"):
        return _text(target.invoke(messages))
    raise TypeError(f"target {type(target).__name__} has no respond(), __call__() or invoke()")


def _messages(value: Any) -> Messages:
    """Validate one conversation given as JSON text or a list of ``{"role", "content"}`` dicts."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"messages must be a JSON list of {{role, content}}: {exc}") from exc
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ValueError("messages must be a non-empty list of {role, content}")
    out: Messages = []
    for m in value:
        if not isinstance(m, Mapping) or "role" not in m or "content" not in m:
            raise ValueError(f"each message needs role and content, got {m!r}")
        out.append({"role": str(m["role"]), "content": str(m["content"])})
    return out


def parse_conversations(model_input: Any) -> list[Messages]:
    """Conversations from a DataFrame (``messages`` column), records with ``messages`` or one message list."""
    if isinstance(model_input, pd.DataFrame):
        if "messages" not in model_input.columns:
            raise ValueError(f"input needs a 'messages' column, got {list(model_input.columns)}")
        return [_messages(v) for v in model_input["messages"]]
    if isinstance(model_input, Mapping):
        model_input = [model_input]
    if isinstance(model_input, Sequence) and not isinstance(model_input, str) and model_input:
        if all(isinstance(r, Mapping) and "messages" in r for r in model_input):
            return [_messages(r["messages"]) for r in model_input]
        return [_messages(model_input)]
    raise ValueError("input must be a DataFrame with a 'messages' column or a list of dicts")


class EchoTarget:
    """Reference target: echoes the last user message, prefixed by its ``name@version``."""

    def __init__(self, name: str, version: str, prefix: str = "echo") -> None:
        self.name, self.version, self.prefix = name, version, prefix

    def respond(self, history: list[Any], seed: int) -> Any:
        """An assistant Turn echoing the last user turn."""
        from core.contracts import Turn

        last = next((t.content for t in reversed(history) if t.role == "user"), "")
        return Turn(role="assistant", content=f"[{self.name}@{self.version}] {self.prefix}: {last}")


def echo_target(name: str, version: str, prefix: str = "echo") -> EchoTarget:
    """Factory of the reference :class:`EchoTarget` (``services.pyfunc_agent:echo_target``)."""
    return EchoTarget(name, version, prefix)


def agent_signature() -> Any:
    """Model signature: a string ``messages`` column in, a string reply out, optional ``seed`` param."""
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    return ModelSignature(inputs=Schema([ColSpec("string", "messages")]), outputs=Schema([ColSpec("string")]),
                          params=ParamSchema([ParamSpec("seed", "long", 0)]))


class AgentModel(PythonModel):
    """Pyfunc wrapper of a target agent; the instance is pickled unconfigured, the target is built on load."""

    def __init__(self) -> None:
        self._config: dict[str, Any] | None = None
        self._target: Any = None

    def load_context(self, context: Any) -> None:
        """Read the ``agent_config`` artifact, apply load-time ``model_config`` overrides, build the target."""
        path = (getattr(context, "artifacts", None) or {}).get(CONFIG_ARTIFACT)
        config = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
        config.update(getattr(context, "model_config", None) or {})
        self.configure(config)

    def configure(self, config: Mapping[str, Any]) -> None:
        """Set the configuration and build the target (used by ``load_context`` and for in-process use)."""
        self._config = normalise_config(config)
        self._target = build_target(self._config)

    @property
    def config(self) -> dict[str, Any]:
        """The agent configuration (after ``configure``/``load_context``)."""
        if self._config is None:
            raise RuntimeError("AgentModel is not configured: load it with mlflow.pyfunc.load_model")
        return dict(self._config)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> list[str]:
        """One reply per conversation (``model_input`` may also be a list of dicts, see the module docstring)."""
        if self._target is None:
            raise RuntimeError("AgentModel is not configured: load it with mlflow.pyfunc.load_model")
        seed = int((params or {}).get("seed", 0) or 0)
        return [reply_of(self._target, conv, seed) for conv in parse_conversations(model_input)]
