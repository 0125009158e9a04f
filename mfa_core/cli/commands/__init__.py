"""The ``mfa`` subcommands, one module each (``users`` holds status, depose and unlock)."""
