"""``mfa modules``: installed plugins and configured modules."""

from __future__ import annotations

import argparse
from typing import Any

from mfa_core.plugins import PluginInfo
from mfa_core.store.memory import MemoryStore

from ..console import Console
from ..exit_codes import ExitStatus
from ..host import open_host
from ..output import format_table, print_json

HELP = "list installed plugins and configured modules"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``mfa modules``."""
    parser.add_argument(
        "--check",
        action="store_true",
        help="import every installed plugin, also unconfigured ones, and report the ones that fail",
    )
    parser.add_argument("--json", action="store_true", help="write the lists as JSON")


def run(args: argparse.Namespace, console: Console) -> int:
    """List every installed plugin and the configured modules."""
    # Listing reads no user data, so it never creates or opens the store file.
    with open_host(args.config, store=MemoryStore()) as host:
        plugins = host.plugins(all_installed=True) if args.check else host.installed_plugins()
        modules = host.modules()

    if args.json:
        print_json(
            console,
            {
                "plugins": [_plugin_document(plugin) for plugin in plugins],
                "modules": [{"id": m.id, "type": m.type, "name": m.name} for m in modules],
            },
        )
        return ExitStatus.OK

    console.output("Installed plugins:")
    plugin_rows = [
        [
            plugin.name,
            plugin.distribution or "(in process)",
            plugin.version or "-",
            ", ".join(plugin.module_types) or "-",
            _plugin_state(plugin),
        ]
        for plugin in plugins
    ]
    header = ["PLUGIN", "DISTRIBUTION", "VERSION", "MODULE TYPES", "STATE"]
    for line in format_table(header, plugin_rows):
        console.output(line)

    console.output("Configured modules:")
    module_rows = [[m.id, m.type, m.name] for m in modules]
    for line in format_table(["ID", "TYPE", "NAME"], module_rows):
        console.output(line)
    return ExitStatus.OK


def _plugin_state(plugin: PluginInfo) -> str:
    if plugin.blocked:
        return "blocked by the plugin allow or block list"
    if plugin.error is not None:
        return f"failed: {plugin.error}"
    if not plugin.loaded:
        return "not imported (no configured module uses it; --check imports it)"
    return "loaded"


def _plugin_document(plugin: PluginInfo) -> dict[str, Any]:
    return {
        "name": plugin.name,
        "distribution": plugin.distribution,
        "version": plugin.version,
        "module_types": list(plugin.module_types),
        "error": plugin.error,
        "blocked": plugin.blocked,
        "loaded": plugin.loaded,
    }
