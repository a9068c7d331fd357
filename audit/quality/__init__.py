"""Quality metrics: one detector a module, with the helpers they share.

Detectors: ``camera`` (motion against the prompt), ``flicker``, ``drift``, ``technical``
(black, frozen, cuts). Helpers: ``motion`` (the global motion model shared by every detector of
a clip), ``signals`` (curves, filters, ranges), ``camera_prompt`` (the camera move a prompt asks
for). The pipeline finds the detectors here as it does in ``audit.detectors``.
"""
