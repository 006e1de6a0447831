"""brandbase: the platform layer for multi-brand Supabase projects, as plain SQL."""

__version__ = "0.1.0"
