"""The argument parser of ``mfa`` and the mapping of expected errors to exit statuses."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from mfa_core.errors import ConfigError, MfaError, StoreError, UnknownModuleError

from .commands import check_config, login, modules, setup, users
from .console import Console
from .errors import CommandError
from .exit_codes import EXIT_STATUS_HELP, ExitStatus

Handler = Callable[[argparse.Namespace, Console], int]

DESCRIPTION = """\
Manage and try multi-factor authentication with mfa-core: list modules, check the
configuration, enrol users, run the login MFA step. Prompts and messages go to standard
error; standard output carries only results."""


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every ``mfa`` subcommand; each sets ``handler``."""
    parser = argparse.ArgumentParser(
        prog="mfa",
        description=DESCRIPTION,
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        help="YAML or TOML configuration (default: MFA_CORE_CONFIG, then config.yaml in the "
        "configuration directory, then one totp module)",
    )

    def add(
        name: str, help_text: str, handler: Handler, description: str | None = None
    ) -> argparse.ArgumentParser:
        command = commands.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            parents=[common],
            epilog=EXIT_STATUS_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.set_defaults(handler=handler)
        return command

    modules.add_arguments(add("modules", modules.HELP, modules.run))
    check_config.add_arguments(add("check-config", check_config.HELP, check_config.run))
    setup.add_arguments(add("setup", setup.HELP, setup.run, setup.DESCRIPTION))
    login.add_arguments(add("login", login.HELP, login.run, login.DESCRIPTION))
    users.add_status_arguments(add("status", users.STATUS_HELP, users.run_status))
    users.add_module_user_arguments(add("depose", users.DEPOSE_HELP, users.run_depose))
    users.add_module_user_arguments(add("unlock", users.UNLOCK_HELP, users.run_unlock))
    return parser


def run_command(argv: Sequence[str] | None, console: Console) -> int:
    """Parse ``argv``, run the command and return its exit status.

    Expected errors become a message on standard error and their exit status,
    never a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        return _exit_status(exit_request.code)

    handler: Handler = args.handler
    try:
        return int(handler(args, console))
    except CommandError as error:
        console.error(str(error))
        return error.status
    except ConfigError as error:
        console.error(str(error))
        return ExitStatus.USAGE
    except UnknownModuleError as error:
        console.error(f"{error}. Use one of the configured module ids.")
        return ExitStatus.USAGE
    except StoreError as error:
        console.error(str(error))
        return ExitStatus.FAILURE
    except MfaError as error:
        console.error(str(error))
        return ExitStatus.FAILURE
    except KeyboardInterrupt:
        console.message("")
        console.error("interrupted")
        return ExitStatus.INTERRUPTED


def _exit_status(code: object) -> int:
    if code is None:
        return ExitStatus.OK
    if isinstance(code, int):
        return code
    return ExitStatus.USAGE


def _version() -> str:
    try:
        return version("mfa-core")
    except PackageNotFoundError:
        return "unknown"
