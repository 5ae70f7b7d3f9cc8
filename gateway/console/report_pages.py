"""Console pages: the program dashboard (reports and KPIs) and the CSV of each chart."""

from __future__ import annotations

import re

from flask import Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from gateway.console.auth import current_operator, require_role
from gateway.console.views import bp
from gateway.domain.errors import GatewayError
from gateway.models.base import utcnow
from gateway.runtime import request_session
from gateway.services.operate.field_errors import FieldErrors
from gateway.services.reports.csv_export import csv_lines
from gateway.services.reports.dashboard import Dashboard, build_dashboard, programs

ROLES = ("admin", "marketer")


def _typed() -> dict[str, str]:
    return {name: request.args.get(name, "") for name in ("program", "store", "from", "to")}


def _build() -> Dashboard:
    typed = _typed()
    return build_dashboard(
        request_session(),
        typed["program"] or None,
        typed["store"] or None,
        typed["from"],
        typed["to"],
        utcnow(),
    )


def _not_found(error: GatewayError) -> ResponseReturnValue:
    return render_template(
        "console/message.html",
        title="Not found",
        message=f"{error.message} Pick one from the reports page.",
        operator=current_operator(),
    ), 404


@bp.get("/reports")
@require_role(*ROLES)
def reports() -> ResponseReturnValue:
    """The dashboard of one program for a date range, optionally narrowed to one store."""
    session = request_session()
    available = programs(session)
    typed = _typed()
    if not available:
        return render_template(
            "console/reports.html",
            operator=current_operator(),
            board=None,
            programs=[],
            typed=typed,
            errors={},
        )
    try:
        board = _build()
    except FieldErrors as error:
        return render_template(
            "console/reports.html",
            operator=current_operator(),
            board=None,
            programs=available,
            typed=typed,
            errors=error.fields,
        ), error.status
    except GatewayError as error:
        if error.status == 404:
            return _not_found(error)
        raise
    typed = {
        "program": board.program.slug,
        "store": board.store.code if board.store else "",
        "from": board.range.first,
        "to": board.range.last,
    }
    return render_template(
        "console/reports.html",
        operator=current_operator(),
        board=board,
        programs=available,
        typed=typed,
        errors={},
        chart_data=[chart.series() for chart in board.charts],
    )


@bp.get("/reports/<chart>.csv")
@require_role(*ROLES)
def report_csv(chart: str) -> ResponseReturnValue:
    """Exactly the rows of one chart's table, streamed."""
    try:
        board = _build()
        table = board.chart(chart)
    except FieldErrors as error:
        return render_template(
            "console/message.html",
            title="Check the dates",
            message=" ".join(error.fields.values()),
            operator=current_operator(),
        ), error.status
    except GatewayError as error:
        if error.status == 404:
            return _not_found(error)
        raise
    store = f"-{board.store.code}" if board.store else ""
    name = f"{board.program.slug}{store}-{chart}-{board.range.first}-{board.range.last}.csv"
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return Response(
        stream_with_context(csv_lines(table.csv_rows())),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
