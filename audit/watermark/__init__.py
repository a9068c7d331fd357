"""The visible watermark: is it there, where, which mark, and for how much of the clip.

- ``detector``: the pipeline's detector (the clip's ``watermark`` block and findings);
- ``track``: its samples joined over time (coverage spans, gaps, segments);
- ``credentials``: the mark checked against the Content Credentials (a cross-check);
- ``match``: a known mark (PNG template with alpha) found by multi-scale gradient matching;
- ``free``: an unknown overlay, fixed in the frame while the content moves;
- ``active``: the active picture inside letterbox/pillarbox bars, where the search runs;
- ``known``: the marks shipped with the package (``marks/``), searched by default;
- ``learn``: a template PNG with alpha extracted from a few clips carrying the same overlay.
"""
