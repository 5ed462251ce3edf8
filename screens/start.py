"""Step 1: what this host is (OS, network stack, method), what lo has, root or not, and an
unfinished transaction to recover before anything else."""

from __future__ import annotations

from typing import Any, Optional

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical

from .base import StepScreen
from .widgets import Note, Spinner


class StartScreen(StepScreen):
    STEP = "Start"
    HELP = ("This wizard puts your Classic Load Balancer's VIPs on this server's loopback "
            "(lo), for message forwarding (DSR) mode. Enter goes on, Esc goes back.")

    BINDINGS = [
        Binding("r", "recover", "Recover", key_display="R"),
        # Priority: shown in the footer, and taken even while Next is still greyed out.
        Binding("enter", "next", "Next", key_display="Enter", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.detecting = True
        self.enter_queued = False  # Enter pressed while still looking at the host

    def check_action(self, action: str, parameters: tuple[object, ...]) -> Optional[bool]:
        if action == "recover":
            return self.state.pending is not None
        return True

    def action_recover(self) -> None:
        if self.state.pending is not None:
            self.offer_recovery()

    def compose_body(self) -> ComposeResult:
        state = self.state
        title = "This host" if not state.preview else (
            f"The system under {state.root}" if state.root not in ("/", "")
            else "The system previewed")
        yield Note(title + (f" (assumed: --os {state.os_override})" if state.os_override
                            else ""), classes="title")
        with Vertical(id="host"):
            yield Spinner("Looking at this host...", id="detecting")

    def on_mount(self) -> None:
        self.update_buttons()
        self.query_one("#next").focus()
        # Detect after the first frame is on screen: the engine's imports and `ip`/`nmcli`
        # calls then never delay it.
        self.call_after_refresh(self.detect)

    @work(thread=True, exclusive=True, group="detect", exit_on_error=False)
    def detect(self) -> None:
        state, engine = self.state, self.engine
        from clb_wizard.methods.base import MethodError
        from clb_wizard.platform import PlatformError
        from clb_wizard.runner import RunnerError

        platform = error = addresses = addresses_error = pending = None
        managed: tuple[str, ...] = ()
        try:
            platform = engine.detect(state.options())
        except PlatformError as exc:
            error = str(exc)
        if platform is not None:
            try:
                addresses = engine.addresses(state.options(), platform)
                managed = engine.managed_vips(platform)
            except (RunnerError, MethodError) as exc:
                addresses_error = str(exc)
        if not state.preview:
            try:
                pending = engine.pending()
            except (OSError, ValueError, KeyError, RunnerError) as exc:  # StateError: damaged
                addresses_error = f"cannot read the journal: {exc}"
        self.app.call_from_thread(self.show_host, platform, error, addresses, addresses_error,
                                  pending, managed)
        self.wizard.warm_up()

    def show_host(self, platform: Any, error: Optional[str], addresses: Any,
                  addresses_error: Optional[str], pending: Any,
                  managed: tuple[str, ...] = ()) -> None:
        state = self.state
        state.platform, state.platform_error = platform, error
        state.addresses, state.addresses_error = addresses, addresses_error
        state.pending, state.managed = pending, managed
        self.detecting = False
        box = self.query_one("#host", Vertical)
        box.remove_children()
        box.mount_all(self.host_lines())
        self.update_buttons()
        self.refresh_bindings()
        if pending is not None:
            self.offer_recovery()
        elif self.enter_queued:
            self.enter_queued = False
            self.action_next()

    def host_lines(self) -> list[Note]:
        state = self.state
        p = state.platform
        lines: list[Note] = []

        def row(label: str, text: str, classes: str = "") -> None:
            lines.append(Note(f"{label:<9} {text}", classes=f"row {classes}".strip()))

        if p is None:
            row("OS", "not supported", "-error")
            lines.append(Note(state.platform_error or "", classes="error"))
            lines.append(Note("Run clb-wizard again with --os ID-VERSION to walk through a "
                              "supported system without changing this one.", classes="hint"))
            return lines
        how = "detected" if p.detected else f"assumed with --os {state.os_override}"
        row("OS", f"{p.name} ({p.key}, {how})")
        row("Network", p.stack.describe())
        row("Method", f"{p.method}: {'; '.join(p.reasons)}")
        for package in p.packages:
            row("Needs", f"package {package} (the plan installs it first)")
        if state.addresses is not None:
            lo = [f"{a.cidr}" + (f" ({a.label})" if a.label not in ("", "lo") else "")
                  for a in state.addresses.lo if a.family == "inet"]
            row("On lo", ", ".join(lo) or "nothing")
        elif state.addresses_error:
            row("On lo", state.addresses_error, "-error")
        else:
            row("On lo", "not read: this is a preview of another system")
        if state.managed:
            row("Ours", f"{', '.join(state.managed)}: configured by clb-wizard earlier "
                "(kept unless you remove one)")
        if state.is_root:
            row("User", "root")
        else:
            row("User", "not root: you can walk through and preview; applying needs sudo",
                "-warn")
        if state.preview:
            where = f" of {state.root}" if state.root not in ("/", "") else ""
            row("Mode", f"preview{where} (--root/--os): nothing is changed")
        elif state.dry_run:
            why = "not root" if not state.is_root else "--dry-run"
            row("Mode", f"dry run ({why}): nothing is changed")
        else:
            row("Mode", "changes this host (every change is verified, or rolled back)")
        return lines

    def offer_recovery(self) -> None:
        from .dialogs import RecoveryDialog

        def done(recovered: Optional[bool]) -> None:
            if recovered:
                self.state.pending = None
                self.restart_detection()
            self.update_buttons()
            self.refresh_bindings()

        self.app.push_screen(RecoveryDialog(self.state.pending), done)

    def restart_detection(self) -> None:
        self.detecting = True
        box = self.query_one("#host", Vertical)
        box.remove_children()
        box.mount(Spinner("Looking at this host again...", id="detecting"))
        self.update_buttons()
        self.detect()

    # -- navigation ------------------------------------------------------------------------
    def back_refused(self) -> Optional[str]:
        return "This is the first step. Ctrl+Q quits."

    def next_refused(self) -> Optional[str]:
        if self.detecting:
            return "Still looking at this host: a moment."
        if self.state.platform is None:
            return "clb-wizard cannot configure this system (see above). Ctrl+Q quits."
        if self.state.pending is not None and not self.state.dry_run:
            return "An interrupted change must be finished first: press R to recover it."
        return None

    def action_next(self) -> None:
        if self.detecting:  # an early Enter is kept, and acted on once the host is read
            self.enter_queued = True
            self.query_one("#detecting", Spinner).label = (
                "Looking at this host... (Enter pressed: going on when done)")
            return
        super().action_next()

    def go_next(self) -> None:
        from .clb_type import ClbTypeScreen

        self.app.push_screen(ClbTypeScreen())
