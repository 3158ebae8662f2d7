"""Server-rendered pages. Each module adds its routes to `bp`; `init_app` lists them."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("pages", __name__)


def init_app(app: Flask) -> None:
    from web.pages import (  # noqa: F401  (routes on bp)
        admin,
        auth,
        away,
        cases,
        cc,
        dashboard,
        documents,
        home,
        inbox,
        instance_messages,
        instances,
        kpis,
        leads,
        models,
        nav,
        notifications,
        start,
        task_ops,
        tasks,
    )

    nav.init_app(app)
    inbox.init_app(app)
    cc.init_app(app)
    notifications.init_app(app)
    app.register_blueprint(bp)
