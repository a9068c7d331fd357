"""sora-audit: provenance and quality audit of AI-generated video clips."""

__version__ = "0.1.0"
TOOL_NAME = "sora-audit"
