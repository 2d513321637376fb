"""Reports from the results store: figures, visual comparisons and the Markdown report folder.

Modules: ``render`` (the report folder) · ``appendix`` (failures, provenance, protocol
sections) · ``plots`` (bars, plane, distributions, sweeps) · ``comparison`` (zoomed crops) ·
``drawing`` (what every figure shares) · ``visuals`` (the SR images behind a comparison).
"""

from srbench.report.render import ReportOptions, render_report

__all__ = ["ReportOptions", "render_report"]
