"""Presentation: :mod:`.formats` (JSON, markdown, LaTeX, CSV, rich cells) and :mod:`.tables`
(the sweep's tables)."""
