"""A report as a PDF (reportlab): A4, Debian's DejaVu fonts, a header and footer on every page
(title, period, the time of the data, page N of M), the summary, then each section's chart
and its table; a long table continues on the next pages under its repeated header row.
"""

from __future__ import annotations

import io
import logging
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table
from reportlab.platypus.tables import TableStyle

from ..errors import EngineError
from .formats import Chart, chart_of, format_change, format_value, period_text

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/pdf"
FONT_DIR = "/usr/share/fonts/truetype/dejavu"
# reportlab's own Bitstream Vera (DejaVu's ancestor): Latin-1 and €, no other scripts
BUNDLED_FONT_DIR = str(Path(reportlab.__file__).parent / "fonts")
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
TABLE_FONT_SIZE = 7.5
ROW_HEIGHT = 11.0
SERIES_COLOURS = [colors.HexColor(c) for c in
                  ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b")]
PIE_COLOURS = SERIES_COLOURS + [colors.HexColor(c) for c in ("#0ea5e9", "#84cc16", "#f97316",
                                                            "#ec4899")]
_TEXT = ParagraphStyle("text", fontName=FONT, fontSize=9, leading=12)
_H1 = ParagraphStyle("h1", fontName=BOLD, fontSize=16, leading=20, spaceAfter=4)
_H2 = ParagraphStyle("h2", fontName=BOLD, fontSize=12, leading=15, spaceBefore=10,
                     spaceAfter=4)


class FontsMissingError(EngineError):
    """The server lacks the fonts the PDF is set in: an administrator must install them."""

    code = "fonts_missing"
    retryable = False


@cache
def register_fonts() -> str:
    """Make the PDF's fonts known to reportlab, once; return the family used.

    Debian's DejaVu (``fonts-dejavu-core``) covers Latin, Greek and Cyrillic; without it the
    PDF is set in the Bitstream Vera that reportlab ships (Latin-1 and €), with a warning, so
    a machine without the package still delivers its reports.
    """
    try:
        pdfmetrics.registerFont(TTFont(FONT, f"{FONT_DIR}/DejaVuSans.ttf"))
        pdfmetrics.registerFont(TTFont(BOLD, f"{FONT_DIR}/DejaVuSans-Bold.ttf"))
        return "DejaVu"
    except (OSError, TTFError) as exc:
        missing = exc
    try:
        pdfmetrics.registerFont(TTFont(FONT, f"{BUNDLED_FONT_DIR}/Vera.ttf"))
        pdfmetrics.registerFont(TTFont(BOLD, f"{BUNDLED_FONT_DIR}/VeraBd.ttf"))
    except (OSError, TTFError) as exc:
        raise FontsMissingError(f"the PDF needs Debian's DejaVu fonts in {FONT_DIR} ({missing}) "
                                f"and reportlab's own fonts are missing too ({exc}); install "
                                "them: apt-get install fonts-dejavu-core") from exc
    log.warning("Debian's DejaVu fonts are not in %s: report PDFs use reportlab's Bitstream "
                "Vera, which prints Latin-1 and € but no other script; install them with "
                "apt-get install fonts-dejavu-core", FONT_DIR)
    return "Vera"


def _canvas_for(doc: dict[str, Any]) -> type[Canvas]:
    title = _fit(doc["title"], WIDTH * 0.5, BOLD, 9)
    period = f"{doc['period']['label']} ({doc['period']['from']} – {doc['period']['to']})"
    as_of = "Data as of " + format_value(doc["data_as_of"], "datetime")

    class PagedCanvas(Canvas):
        """Keeps every page until the end, to print "page N of M" on each."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()  # type: ignore[attr-defined]  # reportlab's own reset

        def save(self) -> None:
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._frame(number, len(self._pages))
                super().showPage()
            super().save()

        def _frame(self, number: int, total: int) -> None:
            top, bottom = A4[1] - 10 * mm, 9 * mm
            self.setFont(BOLD, 9)
            self.drawString(MARGIN, top, title)
            self.setFont(FONT, 8)
            self.drawRightString(A4[0] - MARGIN, top, period)
            self.setStrokeColor(colors.HexColor("#cbd5e1"))
            self.line(MARGIN, top - 3, A4[0] - MARGIN, top - 3)
            self.line(MARGIN, bottom + 9, A4[0] - MARGIN, bottom + 9)
            self.drawString(MARGIN, bottom, as_of)
            self.drawRightString(A4[0] - MARGIN, bottom, f"Page {number} of {total}")

    return PagedCanvas


def render_pdf(doc: dict[str, Any]) -> bytes:
    """The PDF's bytes."""
    register_fonts()
    out = io.BytesIO()
    template = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=18 * mm,
        bottomMargin=17 * mm, title=doc["title"], author="Bridgeflow",
        subject=period_text(doc["period"]))
    story: list[Flowable] = [*_summary(doc)]
    for section in doc["sections"]:
        story.extend(_section(section, doc["currency"]))
    template.build(story, canvasmaker=_canvas_for(doc))
    return out.getvalue()


def _p(text: str, style: ParagraphStyle = _TEXT) -> Paragraph:
    return Paragraph(escape(text), style)


def _summary(doc: dict[str, Any]) -> list[Flowable]:
    currency = doc["currency"]
    parts: list[Flowable] = [
        _p(doc["title"], _H1),
        _p(f"Period: {period_text(doc['period'])}"),
        _p(f"Previous period: {period_text(doc['previous_period'])}"),
        _p("Data as of: " + format_value(doc["data_as_of"], "datetime")),
        Spacer(1, 6)]
    if doc["summary"]:
        rows = [["Figure", "This period", "Previous period", "Change"]]
        for f in doc["summary"]:
            rows.append([f["label"], format_value(f["value"], f["format"], currency),
                         format_value(f["previous"], f["format"], currency),
                         format_change(f["value"], f["previous"])])
        table = Table(rows, colWidths=[WIDTH * 0.4, WIDTH * 0.2, WIDTH * 0.2, WIDTH * 0.2])
        table.setStyle(_table_style(len(rows), numeric_from=1, totals=False, size=9))
        parts.append(table)
    return parts


def _table_style(count: int, *, numeric_from: int | None = None,
                 numeric: list[int] | None = None, totals: bool,
                 size: float = TABLE_FONT_SIZE) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, size),
        ("FONT", (0, 0), (-1, 0), BOLD, size),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e2e8f0")),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cbd5e1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if numeric_from is not None:
        commands.append(("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"))
    for i in numeric or []:
        commands.append(("ALIGN", (i, 0), (i, -1), "RIGHT"))
    if totals and count > 1:
        commands += [("FONT", (0, -1), (-1, -1), BOLD, size),
                     ("LINEABOVE", (0, -1), (-1, -1), 0.75, colors.black)]
    return TableStyle(commands)


def _fit(text: str, width: float, font: str = FONT, size: float = TABLE_FONT_SIZE) -> str:
    """``text`` cut to fit ``width`` points (an ellipsis says it was cut)."""
    full = pdfmetrics.stringWidth(text, font, size)
    if full <= width:
        return text
    cut = max(1, int(len(text) * width / full))
    while cut > 1 and pdfmetrics.stringWidth(text[:cut] + "…", font, size) > width:
        cut -= 1
    return text[:cut] + "…"


def _column_widths(header: list[str], cells: list[list[str]]) -> list[float]:
    sample = cells[:300]
    wanted = []
    for i, label in enumerate(header):
        longest = max([pdfmetrics.stringWidth(r[i], FONT, TABLE_FONT_SIZE) for r in sample]
                      + [pdfmetrics.stringWidth(label, BOLD, TABLE_FONT_SIZE)])
        wanted.append(min(longest + 8, WIDTH * 0.45))
    scale = min(1.0, WIDTH / sum(wanted))
    return [w * scale for w in wanted]


def _section(section: dict[str, Any], currency: str) -> list[Flowable]:
    columns = section["columns"]
    heading = _p(section["title"], _H2)
    chart = chart_of(section, currency)
    parts: list[Flowable] = [KeepTogether([heading, _drawing(chart, currency)])] if chart \
        else [heading]
    if not section["rows"]:
        return [*parts, _p(section["empty_text"])]
    header = [c["label"] for c in columns]
    body = [[format_value(r.get(c["key"]), c["format"], currency) for c in columns]
            for r in section["rows"]]
    if section["totals"]:
        body.append([format_value(section["totals"].get(c["key"]), c["format"], currency)
                     if c["key"] in section["totals"] else "" for c in columns])
    widths = _column_widths(header, body)
    fitted = [[_fit(text, w - 6) for text, w in zip(row, widths, strict=True)]
              for row in [header, *body]]
    numeric = [i for i, c in enumerate(columns) if c["format"] not in ("text", "date",
                                                                        "datetime")]
    return [*parts, PagedTable(fitted[0], fitted[1:], widths, numeric,
                               bool(section["totals"]))]


class PagedTable(Flowable):
    """A long table that splits page by page in linear time: each page's part is a table of
    the rows that fit there under the repeated header (every row is one line high)."""

    def __init__(self, header: list[str], rows: list[list[str]], widths: list[float],
                 numeric: list[int], totals: bool) -> None:
        super().__init__()
        self.header, self.rows, self.widths = header, rows, widths
        self.numeric, self.totals = numeric, totals
        self.hAlign = "LEFT"

    def _table(self, rows: list[list[str]], last: bool) -> Table:
        table = Table([self.header, *rows], colWidths=self.widths, rowHeights=ROW_HEIGHT,
                      hAlign="LEFT")
        table.setStyle(_table_style(len(rows) + 1, numeric=self.numeric,
                                    totals=self.totals and last))
        return table

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return sum(self.widths), ROW_HEIGHT * (len(self.rows) + 1)

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        fit = int(availHeight // ROW_HEIGHT) - 1
        if fit < 1:
            return []  # not even the header and one row: the next page
        if self.totals and fit == len(self.rows) - 1:
            fit -= 1  # never leave the totals row alone on a page
        if fit >= len(self.rows):
            return [self._table(self.rows, last=True)]
        return [self._table(self.rows[:fit], last=False),
                PagedTable(self.header, self.rows[fit:], self.widths, self.numeric,
                           self.totals)]

    def draw(self) -> None:
        table = self._table(self.rows, last=True)
        table.wrapOn(self.canv, sum(self.widths), ROW_HEIGHT * (len(self.rows) + 1))
        table.drawOn(self.canv, 0, 0)


def _value_label(fmt: str, currency: str) -> Any:
    def label(value: float) -> str:
        if fmt == "percent":
            return f"{value * 100:,.0f} %"
        if fmt == "money":
            return format_value(round(value), "money", currency).removesuffix(".00")
        return f"{value:,.0f}"
    return label


def _drawing(chart: Chart, currency: str) -> Drawing:
    drawing = Drawing(WIDTH, 75 * mm)
    if chart.type == "pie":
        pie = Pie()
        pie.x, pie.y, pie.width, pie.height = 40, 15, 150, 150
        pie.data = chart.series[0][1]
        pie.labels = None
        for i in range(len(pie.data)):
            pie.slices[i].fillColor = PIE_COLOURS[i % len(PIE_COLOURS)]
            pie.slices[i].strokeColor = colors.white
        drawing.add(pie)
        total = sum(pie.data) or 1.0
        _legend(drawing, [(f"{label} ({value / total:.0%})", PIE_COLOURS[i % len(PIE_COLOURS)])
                          for i, (label, value) in enumerate(zip(chart.labels, pie.data,
                                                                 strict=True))], 230, 160)
        return drawing
    plot = VerticalBarChart() if chart.type == "bar" else HorizontalLineChart()
    plot.x, plot.y = 55, 60
    plot.width, plot.height = int(WIDTH - 70), int(75 * mm - 90)
    plot.data = [values for _name, values in chart.series]
    plot.categoryAxis.categoryNames = chart.labels
    plot.categoryAxis.labels.fontName = FONT
    plot.categoryAxis.labels.fontSize = 7
    plot.categoryAxis.labels.angle = 30
    plot.categoryAxis.labels.boxAnchor = "ne"
    plot.categoryAxis.labels.dx, plot.categoryAxis.labels.dy = 4, -2
    plot.valueAxis.labels.fontName = FONT
    plot.valueAxis.labels.fontSize = 7
    plot.valueAxis.valueMin = min(0.0, *(v for _n, vs in chart.series for v in vs))
    plot.valueAxis.labelTextFormat = _value_label(chart.value_format, currency)
    for i in range(len(chart.series)):
        if isinstance(plot, VerticalBarChart):
            plot.bars[i].fillColor = SERIES_COLOURS[i]
            plot.bars[i].strokeColor = None
        else:
            plot.lines[i].strokeColor = SERIES_COLOURS[i]
            plot.lines[i].strokeWidth = 1.5
    drawing.add(plot)
    _legend(drawing, [(name, SERIES_COLOURS[i]) for i, (name, _v) in enumerate(chart.series)],
            55, 75 * mm - 8, columns=len(chart.series))
    return drawing


def _legend(drawing: Drawing, items: list[tuple[str, Any]], x: float, y: float,
            columns: int = 1) -> None:
    legend = Legend()
    legend.x, legend.y = int(x), int(y)
    legend.fontName, legend.fontSize = FONT, 7
    legend.alignment = "right"
    legend.columnMaximum = 12 if columns == 1 else 1
    legend.dxTextSpace = 4
    legend.colorNamePairs = [(colour, label) for label, colour in items]
    drawing.add(legend)
