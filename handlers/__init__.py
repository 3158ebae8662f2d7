"""Service-task handlers. `default_registry()` lists the handler modules explicitly."""

from __future__ import annotations

from handlers.registry import HandlerContext, HandlerRegistry, UnknownHandler

__all__ = ["HandlerContext", "HandlerRegistry", "UnknownHandler", "default_registry"]


def default_registry() -> HandlerRegistry:
    from handlers import (
        basics,
        brand,
        brand_health,
        case_library,
        documents,
        kpi,
        leads,
        project_budget,
        project_documents,
    )

    registry = HandlerRegistry()
    basics.register(registry)
    documents.register(registry)  # generate_document
    kpi.register(registry)  # compute_completion_rate
    project_budget.register(registry)  # select_budget_approver
    project_documents.register(registry)  # generate_project_document
    case_library.register(registry)  # add_case_library_entry
    leads.register(registry)  # handover_leads
    brand.register(registry)  # evaluate_brand_metrics
    brand_health.register(registry)  # record_brand_month
    return registry
