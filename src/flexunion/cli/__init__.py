"""`flexunion serve | worker | migrate | purge | tenants | admin | partner | token | keys | sms |
audit | transfers | census` — one module per domain.

Every command but `serve` and `worker` (both as the app role) is an operator command: it
connects as the database owner (DATABASE_URL, or the embedded server) and writes its audit
events as `cli:operator`. Operator commands are quiet: only what they print, and warnings;
`--verbose` shows the logs (migrations, the embedded server)."""

from __future__ import annotations

import click

from flexunion.cli import audit, auth, census, db, jobs, serve, services, tenants, transfers
from flexunion.config import load_settings
from flexunion.core import logs


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Show the logs (migrations, embedded server).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """flexunion — 工会联合会服务 union federation service."""
    level = load_settings().log_level
    serving = ctx.invoked_subcommand in ("serve", "worker")
    logs.configure(level if verbose or serving else "WARNING", quiet_setup=not verbose)


for module in (serve, jobs, db, tenants, auth, audit, transfers, census, services):
    for command in module.COMMANDS:
        main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
