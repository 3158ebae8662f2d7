"""General-purpose handlers usable from any diagram."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from handlers.registry import HandlerContext, HandlerRegistry


def register(registry: HandlerRegistry) -> None:
    registry.handler("echo")(echo)
    registry.handler("record_note")(record_note)


def echo(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """Returns its parameters: handy for wiring tests and for diagrams under construction."""
    return {"params": params, "instance_id": ctx.instance_id}


def record_note(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """Adds a line to the instance's audit log (e.g. "已通知销售部")."""
    text = str(params.get("text", ""))[:2000]
    ctx.notes.append({"note": text})
    return {"recorded": True, "at": ctx.clock.now().isoformat()}
