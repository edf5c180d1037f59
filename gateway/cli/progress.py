"""The export's progress bar: one line per destination, offers/s and time left; silent when piped.

The export calls `on_offer` for every offer decided (in the main process, whatever the number
of workers), so counting them is enough; the total is the number of validated offers.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from gateway.pipeline.offer_decision import OfferDecision
from gateway.store.database import Database
from gateway.store.queries import count_exportable


class ExportProgress:
    def __init__(self, console: Console, database: Database, *, enabled: bool = True) -> None:
        self.active = enabled and console.is_terminal
        self.database = database
        self.tasks: dict[str, TaskID] = {}
        self.total = 0
        self.progress = Progress(
            TextColumn("[bold]{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("offres"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("reste"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )

    def __enter__(self) -> Self:
        if self.active:
            with self.database.session() as db:
                self.total = count_exportable(db)
            self.progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.active:
            self.progress.stop()

    @property
    def callback(self) -> Callable[[str, OfferDecision], None] | None:
        """`on_offer` when a bar is shown, else None: without a callback the export takes whole
        pages of unchanged offers at once instead of building a decision for each one."""
        return self.on_offer if self.active else None

    def on_offer(self, destination: str, _decision: OfferDecision) -> None:
        if not self.active:
            return
        task = self.tasks.get(destination)
        if task is None:
            for earlier in self.tasks.values():  # destinations are exported one after the other
                self.progress.update(earlier, completed=self.total)
            task = self.tasks[destination] = self.progress.add_task(destination, total=self.total, rate="")
        self.progress.advance(task)
        speed = self._speed(task)
        self.progress.update(task, rate=f"{speed:,.0f} offres/s".replace(",", "\u202f") if speed else "")

    def _speed(self, task: TaskID) -> float | None:
        for item in self.progress.tasks:
            if item.id == task:
                return item.speed
        return None
