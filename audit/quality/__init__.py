"""Quality metrics: one detector a module, with the helpers they share.

Detectors: ``shots`` (cuts, fades, dissolves; repeated and dropped frames; runs first so every
temporal metric can work per shot), ``camera`` (motion against the prompt), ``flicker``,
``drift``, ``flash`` (WCAG 2.3.1 flash safety), ``technical`` (black, frozen, cuts, cadence).
Helpers: ``motion`` (the global motion model shared by every detector of a clip), ``signals``
(curves, filters, ranges), ``transitions`` (shot boundaries from per-frame records),
``camera_prompt`` (the camera move a prompt asks for). The pipeline finds the detectors here as
it does in ``audit.detectors``.
"""
