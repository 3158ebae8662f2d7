"""Service-task handlers. `default_registry()` lists the handler modules explicitly."""

from __future__ import annotations

from handlers.registry import HandlerContext, HandlerRegistry, UnknownHandler

__all__ = ["HandlerContext", "HandlerRegistry", "UnknownHandler", "default_registry"]


def default_registry() -> HandlerRegistry:
    from handlers import basics

    registry = HandlerRegistry()
    basics.register(registry)
    return registry
