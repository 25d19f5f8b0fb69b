"""`harvester emulator`: serve the Hub emulator from the command line until interrupted.

Kept apart from the emulator's own modules, which it imports only when it runs, so that the
command line starts without them.
"""

from __future__ import annotations

import click


def _fault(ctx: click.Context, param: click.Parameter, specs: tuple[str, ...]) -> list:
    from .faults import parse_fault

    try:
        return [parse_fault(spec) for spec in specs]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _quota(ctx: click.Context, param: click.Parameter, spec: str | None):
    from .faults import parse_quota

    try:
        return parse_quota(spec) if spec else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--models", default=1000, show_default=True, type=click.IntRange(min=0), help="Models to serve.")
@click.option("--datasets", default=0, show_default=True, type=click.IntRange(min=0), help="Datasets to serve.")
@click.option("--spaces", default=0, show_default=True, type=click.IntRange(min=0), help="Spaces to serve.")
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic corpus.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--page-size", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Page size when a request gives no limit.")
@click.option("--fault", "faults", multiple=True, callback=_fault, metavar="SPEC",
              help="Inject a fault, e.g. '502,every=5', '429,retry_after=1,rate=0.1', 'drop,times=1', "
                   "'slow=3,every=10', 'truncate'. Repeatable.")
@click.option("--max-page-size", type=click.IntRange(min=1), default=None,
              help="Answer 504 to pages asking for more rows than this, like the Hub's gateway.")
@click.option("--quota", callback=_quota, metavar="REQUESTS/SECONDS", default=None,
              help="A fixed-window request quota, e.g. 500/300; past it, 429 with Retry-After.")
def emulator(models: int, datasets: int, spaces: int, seed: int, host: str, port: int, page_size: int,
             faults: list, max_page_size: int | None, quota) -> None:
    """Serve a local Hub emulator until interrupted; prints its URL first.

    Point any Hub client at it: HF_ENDPOINT=<url> harvester sync
    """
    from .faults import FaultPlan
    from .server import HubEmulator

    plan = FaultPlan(faults=faults, max_page_size=max_page_size, quota=quota, seed=seed)
    try:
        hub = HubEmulator(models=models, datasets=datasets, spaces=spaces, seed=seed, host=host, port=port,
                          faults=plan, default_page_size=page_size)
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(hub.url)
    click.echo(f"serving {models} models, {datasets} datasets, {spaces} spaces (seed {seed}); Ctrl-C stops",
               err=True)
    try:
        hub.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()
