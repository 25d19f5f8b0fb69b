"""`harvester` as a process of its own: the console script and `python -m harvester`."""

import io
import signal
import sys

from .stopping import SIGNALS, quit_quietly


def run() -> None:
    """Run the command line; until a command installs its own handlers, a signal ends the process
    at once with exit code 130 (there is nothing to clean up yet), never with a traceback."""
    inherited = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig, handler in inherited.items():
        if handler is not signal.SIG_IGN:  # a signal the parent chose to ignore stays ignored
            signal.signal(sig, quit_quietly)
    if not sys.stdout.isatty() and isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8")  # JSON and CSV into a file or pipe are UTF-8 whatever the locale
    from . import cli, stopping

    stopping.OWN_PROCESS = True
    stopping.INHERITED_SIGNALS.update(inherited)
    cli.main()


if __name__ == "__main__":
    run()
