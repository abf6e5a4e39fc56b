"""Render a generated contract as a real PDF (fpdf2).

The document shows the template id and version, the document and request ids, every template field with
its value, and the template's clauses. A Unicode TrueType font (DejaVu Sans) is embedded when the system
has one, so names such as "Łukasz Żółć" survive; otherwise the PDF core font is used and characters outside
Latin-1 are replaced.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from workers.sandbox.templates import TemplateSpec

_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/Library/Fonts/DejaVuSans.ttf"),
)


def _unicode_font() -> Path | None:
    return next((p for p in _FONT_CANDIDATES if p.is_file()), None)


def _latin1(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return folded.encode("latin-1", "replace").decode("latin-1")


def _display(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render_pdf(
    template: TemplateSpec,
    data: dict[str, Any],
    *,
    doc_id: str,
    metadata: dict[str, Any],
    created_at: datetime,
) -> bytes:
    font_path = _unicode_font()
    pdf = FPDF(format="A4")
    pdf.set_title(f"{template.title} ({template.template_id} v{template.version})")
    pdf.set_creator("contractize-sandbox")
    pdf.set_producer("contractize-sandbox")
    pdf.set_creation_date(created_at)
    if font_path is not None:
        pdf.add_font("Body", "", str(font_path))
        family, clean = "Body", (lambda s: s)
    else:
        family, clean = "Helvetica", _latin1
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()

    def line(text: str, size: float = 11, height: float = 7) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, height, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(template.title, size=18, height=10)
    line(f"Template: {template.template_id}  version {template.version}", size=10, height=6)
    line(f"Document: {doc_id}", size=10, height=6)
    line(f"Request: {_display(metadata.get('request_id'))}", size=10, height=6)
    if metadata.get("initiated_by"):
        line(f"Initiated by: {metadata['initiated_by']}", size=10, height=6)
    line(f"Generated: {created_at.isoformat()}", size=10, height=6)
    pdf.ln(4)

    line("Particulars", size=13, height=8)
    for spec in template.fields:
        label = spec.label or spec.name
        line(f"{label} ({spec.name}): {_display(data.get(spec.name))}")
    pdf.ln(4)

    line("Terms", size=13, height=8)
    for clause in template.clauses:
        line(clause, size=10, height=6)
        pdf.ln(1)

    pdf.ln(8)
    line("Signed: ______________________        Date: ______________", size=10, height=6)
    return bytes(pdf.output())
