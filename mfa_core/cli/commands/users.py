"""``mfa status``, ``mfa depose`` and ``mfa unlock``: one user's enrolments and limits."""

from __future__ import annotations

import argparse

from ..console import Console
from ..exit_codes import ExitStatus
from ..host import open_host, require_module, require_user_id
from ..output import format_table, print_json

STATUS_HELP = "list the modules a user is enrolled in"
DEPOSE_HELP = "remove a user's enrolment in a module"
UNLOCK_HELP = "clear a user's back-off and lockout in a module"


def add_status_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``mfa status``."""
    parser.add_argument("user", metavar="USER", help="id of the user")
    parser.add_argument("--json", action="store_true", help="write the modules as JSON")


def add_module_user_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the MODULE_ID and USER arguments of ``mfa depose`` and ``mfa unlock``."""
    parser.add_argument("module_id", metavar="MODULE_ID", help="id of a configured module")
    parser.add_argument("user", metavar="USER", help="id of the user")


def run_status(args: argparse.Namespace, console: Console) -> int:
    """List the user's enrolled modules and return the exit status."""
    user_id = require_user_id(args.user)
    with open_host(args.config) as host:
        modules = host.user_modules(user_id)

    if args.json:
        entries = [{"id": m.id, "type": m.type, "name": m.name} for m in modules]
        print_json(console, {"user_id": user_id, "modules": entries})
        return ExitStatus.OK

    if not modules:
        console.output(f"{user_id} is not enrolled in any module; MFA is not required at login.")
        return ExitStatus.OK
    console.output(f"{user_id} is enrolled in {len(modules)} module(s):")
    rows = [[m.id, m.type, m.name] for m in modules]
    for line in format_table(["ID", "TYPE", "NAME"], rows):
        console.output(line)
    return ExitStatus.OK


def run_depose(args: argparse.Namespace, console: Console) -> int:
    """Remove the user's enrolment and limiter state in the module."""
    user_id = require_user_id(args.user)
    with open_host(args.config) as host:
        module = require_module(host, args.module_id)
        was_enrolled = host.is_user_setup(module.id, user_id)
        host.depose_user(module.id, user_id)

    if was_enrolled:
        console.output(f"Removed the enrolment of {user_id} in module {module.id}.")
    else:
        console.output(f"{user_id} was not enrolled in module {module.id}; nothing to remove.")
    return ExitStatus.OK


def run_unlock(args: argparse.Namespace, console: Console) -> int:
    """Clear the user's consecutive failures, back-off and lockout in the module."""
    user_id = require_user_id(args.user)
    with open_host(args.config) as host:
        module = require_module(host, args.module_id)
        host.unlock(module.id, user_id)

    console.output(f"Cleared the back-off and lockout of {user_id} in module {module.id}.")
    return ExitStatus.OK
