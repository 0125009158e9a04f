"""A plugin whose import fails, as it does when a dependency is missing."""

raise ImportError("mfa_broken_import needs mfa-missing-dependency, which is not installed")
