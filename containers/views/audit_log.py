"""The audit log (/audit/): read-only, newest first, filtered and paginated, exported as CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from containers.audit import AuditFilter
from containers.models import AuditEntry
from containers.roles import role_required

PAGE_SIZE = 50
CSV_COLUMNS = ["time", "user", "action", "target_id", "target_name", "params", "ok", "result", "client_ip", "host"]


@require_safe
@role_required("viewer")
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilter(request.GET)
    page = Paginator(form.entries(), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "actions": AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct(),
        "hosts": AuditEntry.objects.exclude(host="").order_by("host").values_list("host", flat=True).distinct(),
        "usernames": AuditEntry.objects.exclude(username="")
        .order_by("username")
        .values_list("username", flat=True)
        .distinct(),
    }
    return render(request, "audit/list.html", context)


class _Line:
    """A file-like target for csv.writer that hands back what was written."""

    def write(self, value: str) -> str:
        return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet; opened with `;` as the
    # separator, every `;`-separated part of a value starts a cell of its own, so each part is checked.
    text = "" if value is None else str(value)
    return ";".join("'" + part if part[:1] in FORMULA_STARTS else part for part in text.split(";"))


def csv_row(entry: AuditEntry) -> list[str]:
    return [
        _cell(entry.created.isoformat()),
        _cell(entry.username),
        _cell(entry.action),
        _cell(entry.target_id),
        _cell(entry.target_name),
        _cell(json.dumps(entry.params, sort_keys=True)),
        entry.state if entry.state != "done" else ("ok" if entry.ok else "failed"),
        _cell(entry.result),
        _cell(entry.client_ip),
        _cell(entry.host),
    ]


@require_safe
@role_required("viewer")
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered entries as CSV, streamed in chunks from the database as it is written."""
    entries = AuditFilter(request.GET).entries()
    writer = csv.writer(_Line())

    async def rows() -> AsyncIterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        async for entry in entries.aiterator(chunk_size=500):
            yield writer.writerow(csv_row(entry))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response
