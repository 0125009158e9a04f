"""``mfa check-config [FILE]``: every problem of a configuration file."""

from __future__ import annotations

import argparse
from typing import Any

from mfa_core.errors import ConfigProblem
from mfa_core.sync import SyncMfaHost

from ..console import Console
from ..exit_codes import ExitStatus
from ..output import print_json

HELP = "check a configuration file and list every problem"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``mfa check-config``."""
    parser.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        help="YAML or TOML file to check (default: --config, then MFA_CORE_CONFIG, then "
        "config.yaml in the configuration directory, then the built-in default)",
    )
    parser.add_argument("--json", action="store_true", help="write the problems as JSON")


def run(args: argparse.Namespace, console: Console) -> int:
    """Print each problem on its own line; return USAGE when there is one."""
    config = args.file or args.config
    problems = SyncMfaHost.check_config(config)

    if args.json:
        print_json(
            console,
            {
                "config": config,
                "ok": not problems,
                "problems": [_problem_document(problem) for problem in problems],
            },
        )
    elif problems:
        for problem in problems:
            console.output(str(problem))
    else:
        console.output("configuration OK")

    if problems:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        pronoun = "it" if count == 1 else "them"
        console.error(f"{count} {noun} found; fix {pronoun} and check again.")
        return ExitStatus.USAGE
    return ExitStatus.OK


def _problem_document(problem: ConfigProblem) -> dict[str, Any]:
    return {
        "source": problem.source,
        "module_index": problem.module_index,
        "module_id": problem.module_id,
        "key_path": list(problem.key_path),
        "message": problem.message,
        "text": str(problem),
    }
