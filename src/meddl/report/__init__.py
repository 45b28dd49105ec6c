"""The HTML report of a run: one self-contained page (no scripts, no external resources).

:func:`build_report` turns a run's contents (:class:`RunFiles`) into the page;
every package adds sections through :class:`meddl.sections.Section`.
``meddl report RUN`` rebuilds a run folder's ``report.html``.
"""

from meddl.report.builder import NOT_FOR_CLINICAL_USE, REPORT_SECTIONS, SECTION_BUILDERS, build_report
from meddl.report.inputs import Predictions, RunFiles, decode_predictions

__all__ = ["NOT_FOR_CLINICAL_USE", "Predictions", "REPORT_SECTIONS", "RunFiles", "SECTION_BUILDERS", "build_report",
           "decode_predictions"]
