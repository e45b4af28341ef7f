"""Presentation, one path for every output: :mod:`.cells` (how one value is shown),
:mod:`.formats` (frames as Markdown, LaTeX, CSV, rich; JSON text), :mod:`.document` (a
result's document in any format), :mod:`.views` (each result's document: ``render_result``,
``result_html``) and :mod:`.tables` (the sweep's tables).

Nothing is re-exported here: ``kdbias_audit.render_result`` is the public entry point.
"""
