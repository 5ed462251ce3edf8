"""Step 5: the exact change, before anything happens: a coloured unified diff per file and
the commands that will run, in order. "No change needed" when the host is already right."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Button, Static

from clb_wizard.errors import ClbWizardError
from clb_wizard.service import leaving_service
from clb_wizard.wording import count

from .base import StepScreen
from .controls import command_lines, twin_command
from .widgets import Note, Spinner

if TYPE_CHECKING:
    from textual.widget import Widget

    from clb_wizard.service import Plan


class PreviewScreen(StepScreen):
    DEFAULT_CSS = """
    PreviewScreen #plan {
        height: 1fr;
    }
    PreviewScreen .summary {
        text-style: bold;
    }
    PreviewScreen .file {
        text-style: bold;
        margin-top: 1;
        background: $boost;
    }
    PreviewScreen .diff {
        height: auto;
    }
    PreviewScreen .command {
        color: $text-accent;
    }
    PreviewScreen .why {
        padding-left: 3;  /* under the command, after its number; wrapped lines too */
        color: $text-muted;
    }
    PreviewScreen .nochange {
        margin-top: 1;
        text-style: bold;
        color: $text-success;
    }
    """
    STEP = "Preview"
    HELP = ("This is exactly what will change. Up/Down and PgUp/PgDn scroll; Enter goes on "
            "to apply it (you are asked once more), Esc goes back to change something.")
    DRY_HELP = ("This is exactly what would change. Up/Down and PgUp/PgDn scroll; Enter shows "
                "a dry run of it (nothing is changed), Esc goes back to change something.")

    def help_text(self) -> str:
        return self.DRY_HELP if self.state.choices.dry_run else self.HELP

    def on_mount(self) -> None:
        self.replan()

    def __init__(self) -> None:
        super().__init__()
        self.planning = True
        self.error: Optional[str] = None
        self.applies_seen = 0  # results.applies when planned (back after an apply: again)

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="plan"):
            yield Spinner("Planning...", id="spinner")

    def on_screen_resume(self) -> None:
        # Back here after an apply (a rolled-back one), the host may differ: plan again.
        # (Not when only the apply question closed: the Apply step has the plan then.)
        if not self.planning and self.state.results.applies != self.applies_seen:
            self.replan()

    def replan(self) -> None:
        self.applies_seen = self.state.results.applies
        self.planning = True
        self.state.results.plan = None
        self.update_buttons()
        self.make_plan()

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def make_plan(self) -> None:
        try:
            plan = self.engine.plan(self.state.options(), self.state.host.platform)
        except ClbWizardError as exc:
            self.app.call_from_thread(self.show_plan, None, str(exc))
            return
        self.app.call_from_thread(self.show_plan, plan, None)

    def show_plan(self, plan: Optional[Plan], error: Optional[str]) -> None:
        if not self.is_attached:  # gone back before the plan was ready
            return
        self.planning = False
        self.error = error
        self.state.results.plan = plan
        box = self.query_one("#plan", VerticalScroll)
        box.remove_children()
        box.mount_all(self.plan_widgets(plan) if plan is not None else [
            Note("Cannot plan this change:", classes="-error"),
            Note(error or "", classes="-error"),
            Note("Esc goes back to fix it.", classes="hint")])
        box.scroll_home(animate=False)
        box.focus()
        nxt = self.query_one("#next", Button)
        dry_run = self.state.choices.dry_run
        if plan is not None and plan.changed and not dry_run:
            nxt.label = "Apply >"
        elif plan is not None and plan.changed:
            nxt.label = "Dry run >"
        else:
            nxt.label = "Verify >"
        nxt.refresh(layout=True)  # a new label does not re-measure the button by itself
        self.update_buttons()

    def plan_widgets(self, plan: Plan) -> list[Widget]:
        from rich.syntax import Syntax

        from .widgets import console_safe

        p = plan.platform
        kind = f" ({plan.clb_type} CLB)" if plan.clb_type else ""
        out: list[Widget] = [
            Note(f"Host: {p.name} ({p.key}); method: {plan.method}", classes="summary"),
            Note(f"VIPs: {', '.join(plan.vips)}{kind}", classes="summary"),
        ]
        if plan.removed:
            out.append(Note(f"Leaving service: {leaving_service(plan.removed)}",
                            classes="-error removed"))
        out += [Note(f"Warning: {w}", classes="-warn") for w in plan.warnings]
        out += [Note(n, classes="hint") for n in plan.notes
                if not n.startswith("No change needed")]
        if not plan.changed:
            out.append(Note("No change needed: this host already has exactly this "
                            "configuration. Enter checks it.", classes="nochange"))
            return out
        for change in plan.files:
            out.append(Note(f"{change.action} {change.path} (mode {change.mode:04o})",
                            classes="file"))
            diff = change.diff().rstrip("\n")
            if self.wizard.console_look:  # a file's odd characters, spelled for the font
                diff = console_safe(diff)
            # ANSI colours: right in 16 colours and on the console; no background of its own.
            out.append(Static(Syntax(diff, "diff", theme="ansi_dark", word_wrap=True),
                              classes="diff"))
        if plan.commands:
            out.append(Note("Commands, in order:", classes="section"))
            for n, command in enumerate(plan.commands, 1):
                out.append(Note(command_lines(command.argv, f"{n}. "), classes="command"))
                out.append(Note(command.why, classes="why"))
        out.append(Note("Then verify:", classes="section"))
        out += [Note(f"- {check.description}", classes="check") for check in plan.checks]
        if self.state.choices.dry_run:
            out.append(Note("Dry run: nothing will be changed.", classes="hint"))
        out.append(Note("The same change from the command line (for scripts and support):",
                        classes="section"))
        out.append(Note(command_lines(twin_command(self.state, plan)), classes="code"))
        return out

    # -- navigation ------------------------------------------------------------------------
    def next_refused(self) -> Optional[str]:
        if self.planning:
            return "Still planning: a moment."
        if self.state.results.plan is None:
            return "There is no plan to apply: Esc goes back to fix the input."
        return None

    def go_next(self) -> None:
        plan, choices = self.state.results.plan, self.state.choices
        if plan.changed and not choices.dry_run:
            from .dialogs import QuestionDialog

            removing = ", ".join(plan.removed)
            lines = [leaving_service(plan.removed)] if plan.removed else []
            lines.append(f"{count(len(plan.files), 'file')} and "
                         f"{count(len(plan.commands), 'command')}, as shown. Each step is "
                         "checked; on any failure the host is rolled back to exactly how it "
                         "was.")
            if choices.confirm_timer:
                lines.append(f"Then you have {choices.confirm_seconds:g} s to keep it.")

            def answered(yes: Optional[bool]) -> None:
                if yes:
                    self.push_apply()
                else:
                    self.notify("Not applied: nothing was changed. Enter asks again; Esc goes "
                                "back to change something.", timeout=6)

            title = (f"Apply, and take {removing} out of service?" if plan.removed
                     else "Apply this change now?")
            yes = "Apply and remove" if plan.removed else "Apply"
            self.app.push_screen(QuestionDialog(title, lines, yes, "Not yet",
                                                warn=bool(plan.removed),
                                                default=not plan.removed), answered)
            return
        self.push_apply()

    def push_apply(self) -> None:
        self.advance()
