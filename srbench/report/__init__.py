"""Reports from the results store: matplotlib figures (``plots``), the SR images behind visual
comparisons (``visuals``) and the Markdown report folder (``render``)."""

from srbench.report.render import ReportOptions, render_report

__all__ = ["ReportOptions", "render_report"]
