"""What every command shares: the one error handler, the ``--lake`` and ``--json``
options, the settings and context of a command, the consoles and the progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from urbanpulse.context import Context, build_context
from urbanpulse.errors import UrbanPulseError
from urbanpulse.i18n import get_supported_locale, translate_error
from urbanpulse.settings import Settings

# The top command's --engine choice, for the command it runs (reset when it ends).
ENGINE_OPTION: ContextVar[str | None] = ContextVar("urbanpulse_engine_option", default=None)

LAKE_OPTION = typer.Option(
    None, "--lake", help="Lake folder \\[default: URBANPULSE_LAKE_PATH or var/lake]."
)
JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON.")

console = Console()
err_console = Console(stderr=True)


def print_error(message: object) -> None:
    """One line on stderr (soft_wrap: one line however narrow the terminal, so scripts
    can grep it), a product error in the command's language."""
    if isinstance(message, UrbanPulseError):
        message = translate_error(message)
    err_console.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False)


def get_cli_locale(option: str | None, environ: dict[str, str]) -> str:
    """The command's language: ``--lang``, else the shell's (LC_ALL, LC_MESSAGES, LANG,
    as POSIX orders them), else English; Chinese for any zh_* locale."""
    for value in (option, environ.get("LC_ALL"), environ.get("LC_MESSAGES"), environ.get("LANG")):
        if value:
            return get_supported_locale(value.split(".")[0]) or "en"
    return "en"


class ProductErrorGroup(TyperGroup):
    """A command group whose commands end a product error as one line on stderr and
    exit code 2, never a traceback: the one handler, for the top command and for each
    group mounted under it (tests call some groups directly)."""

    def invoke(self, ctx: Any) -> Any:  # typer.Context; its base class is private
        try:
            return super().invoke(ctx)
        except UrbanPulseError as exc:
            print_error(exc)
            raise typer.Exit(code=2) from None


def build_group(**options: Any) -> typer.Typer:
    """A Typer group with the product's error handler and no shell completion."""
    return typer.Typer(
        cls=ProductErrorGroup, pretty_exceptions_enable=False, add_completion=False, **options
    )


@contextmanager
def product_errors() -> Iterator[None]:
    """The same rule inside a command, for work that must end before the command does
    (a progress bar closed, a file left unwritten)."""
    try:
        yield
    except UrbanPulseError as exc:
        print_error(exc)
        raise typer.Exit(code=2) from None


def get_settings(lake: Path | None = None) -> Settings:
    """The settings of the running command: the environment (``URBANPULSE_*``), then the
    top command's ``--engine``, then this command's ``--lake``."""
    update: dict[str, Any] = {}
    engine = ENGINE_OPTION.get()
    if engine:
        update["engine"] = engine
    if lake is not None:
        update["lake_path"] = lake
    settings = Settings()
    return settings.model_copy(update=update) if update else settings


def get_context(lake: Path | None = None) -> Context:
    """The context of the running command (see :func:`get_settings`)."""
    return build_context(get_settings(lake))


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar fed by the domains' ``progress(step, done, total)`` callbacks."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(description, total=None)

        def report(step: str, done: int, total: int) -> None:
            progress.update(task, description=f"{description}: {step}", completed=done, total=total)

        yield report
