"""The report layer: sections over artifacts, rendered with Jinja2. Reads JSON, CSV and PNG files only:
it never imports matplotlib, TensorFlow or Keras, and never recomputes a fit."""

from reglab.report.render import render

__all__ = ["render"]
