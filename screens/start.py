"""Step 1: what this host is (OS, network stack, method), what lo has, root or not, and an
unfinished transaction to recover before anything else."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from .base import StepScreen
from .state import Host, WizardState
from .widgets import Hanging, Note, Spinner

if TYPE_CHECKING:
    from clb_wizard.service import Journal, Service


class StartScreen(StepScreen):
    STEP = "Start"
    HELP = ("This wizard puts your Classic Load Balancer's VIPs on this server's loopback "
            "(lo), for message forwarding (DSR) mode. Enter goes on, Esc goes back.")

    BUTTONS_AFTER_FIRST_FRAME = True
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
            return self.state.host.pending is not None
        return True

    def action_recover(self) -> None:
        if self.state.host.pending is not None:
            self.offer_recovery()

    def compose_body(self) -> ComposeResult:
        launch = self.state.launch
        title = "This host" if not launch.preview else (
            f"The system under {launch.root}" if launch.root not in ("/", "")
            else "The system previewed")
        yield Note(title + (f" (assumed: --os {launch.os_override})" if launch.os_override
                            else ""), classes="title")
        with Vertical(id="host"):
            yield Spinner("Looking at this host...", id="detecting")

    async def on_mount(self) -> None:
        # After the first frame is on screen: the buttons (Textual's Button), then the
        # detection (the engine's imports, `ip`/`nmcli` calls): neither delays it.
        self.call_after_refresh(self.after_first_frame)

    async def after_first_frame(self) -> None:
        if not self.is_attached:
            return  # quitting already
        await self.add_button_row()
        for button in self.query("#next"):  # none if the app closed meanwhile
            button.focus()
            self.detect()

    @work(thread=True, exclusive=True, group="detect", exit_on_error=False)
    def detect(self) -> None:
        host = read_host(self.engine, self.state)
        self.app.call_from_thread(self.show_host, host)
        self.wizard.warm_up()

    def show_host(self, host: Host) -> None:
        state = self.state
        state.host = host
        if state.choices.clb_type is None:  # a second visit: the type of the last change
            state.choices.clb_type = host.last_clb_type
        self.detecting = False
        box = self.query_one("#host", Vertical)
        box.remove_children()
        box.mount_all(self.host_lines())
        self.update_buttons()
        self.refresh_bindings()
        if host.pending is not None:
            self.offer_recovery()
        elif self.enter_queued:
            self.enter_queued = False
            self.action_next()

    def host_lines(self) -> list[Static]:
        launch, host = self.state.launch, self.state.host
        p = host.platform
        lines: list[Static] = []

        def row(label: str, text: str, classes: str = "") -> None:
            lines.append(Hanging(label, text, label_width=9, classes=f"row {classes}".strip()))

        if p is None:
            row("OS", "not supported", "-error")
            lines.append(Note(host.platform_error or "", classes="error"))
            lines.append(Note("Run clb-wizard again with --os ID-VERSION to walk through a "
                              "supported system without changing this one.", classes="hint"))
            return lines
        how = "detected" if p.detected else f"assumed with --os {launch.os_override}"
        row("OS", f"{p.name} ({p.key}, {how})")
        row("Network", p.stack.describe())
        row("Method", f"{p.method}: {'; '.join(p.reasons)}")
        for package in p.packages:
            row("Needs", f"package {package} (the plan installs it first)")
        if host.addresses is not None:
            lo = [f"{a.cidr}" + (f" ({a.label})" if a.label not in ("", "lo") else "")
                  for a in host.addresses.lo if a.family == "inet"]
            row("On lo", ", ".join(lo) or "nothing")
        elif host.addresses_error:
            row("On lo", host.addresses_error, "-error")
        else:
            row("On lo", "not read: this is a preview of another system")
        if host.managed:
            row("Ours", f"{', '.join(host.managed)}: configured by clb-wizard earlier "
                "(kept unless you remove one)")
        if host.last_change is not None:
            row("Last", last_change_text(host))
        if launch.is_root:
            row("User", "root")
        elif launch.preview:
            row("User", "not root (a preview needs no root)")
        else:
            row("User", "not root: you can walk through and preview; to apply, run "
                f"{root_command(self.state)}", "-warn")
        if launch.preview:
            where = f" of {launch.root}" if launch.root not in ("/", "") else ""
            row("Mode", f"preview{where} (--root/--os): nothing is changed")
        elif launch.dry_run:
            why = "not root" if not launch.is_root else "--dry-run"
            row("Mode", f"dry run ({why}): nothing is changed")
        else:
            row("Mode", "changes this host (every change is verified, or rolled back)")
        return lines

    def offer_recovery(self) -> None:
        from .dialogs import RecoveryDialog

        def done(recovered: Optional[bool]) -> None:
            if recovered:
                self.state.host.pending = None
                self.restart_detection()
            self.update_buttons()
            self.refresh_bindings()

        self.app.push_screen(RecoveryDialog(self.state.host.pending), done)

    def restart_detection(self) -> None:
        self.detecting = True
        box = self.query_one("#host", Vertical)
        box.remove_children()
        box.mount(Spinner("Looking at this host again...", id="detecting"))
        self.update_buttons()
        self.detect()

    # -- navigation ------------------------------------------------------------------------
    def back_refused(self) -> Optional[str]:
        return "This is the first step. F10 (or Q) quits."

    def next_refused(self) -> Optional[str]:
        if self.detecting:
            return "Still looking at this host: a moment."
        if self.state.host.platform is None:
            return "clb-wizard cannot configure this system (see above). F10 (or Q) quits."
        if self.state.host.pending is not None and not self.state.choices.dry_run:
            return "An interrupted change must be finished first: press R to recover it."
        return None

    def action_next(self) -> None:
        if self.detecting:  # an early Enter is kept, and acted on once the host is read
            self.enter_queued = True
            self.query_one("#detecting", Spinner).label = (
                "Looking at this host... (Enter pressed: going on when done)")
            return
        super().action_next()


def read_host(engine: Service, state: WizardState) -> Host:
    """Everything the Start step shows, read from the host (in the worker thread)."""
    from clb_wizard.errors import ClbWizardError

    host = Host()
    options = state.options()
    try:
        host.platform = engine.detect(options)
    except ClbWizardError as exc:
        host.platform_error = str(exc)
    if host.platform is not None:
        try:
            host.addresses = engine.addresses(options, host.platform)
            host.managed = host.managed_at_start = engine.managed_vips(host.platform)
        except ClbWizardError as exc:
            host.addresses_error = str(exc)
    if not state.launch.preview:
        try:
            host.pending = engine.pending()
            host.last_change = engine.last_change()
        except ClbWizardError as exc:  # a damaged or unreadable record (StateError)
            host.addresses_error = f"cannot read the journal: {exc}"
        host.arp_set = engine.arp_sysctls_set()
    if host.last_change is not None and host.managed:
        host.last_clb_type = clb_type_of(host.last_change)
    return host


def clb_type_of(change: Journal) -> Optional[str]:
    """The CLB type a kept change was made for, as its VIPs tell it (all private: internal;
    any public: external); None when they do not tell (the journal does not record it)."""
    from clb_wizard.errors import ClbWizardError
    from clb_wizard.vips import address_kind, parse_vip

    try:
        kinds = {address_kind(parse_vip(v)) for v in change.vips}
    except ClbWizardError:  # a VIP the record holds that is not one (VipError)
        return None
    if "public" in kinds:
        return "external"
    return "internal" if kinds == {"private"} else None


def root_command(state: WizardState) -> str:
    """How to start the wizard as root here (invocation.root_command: sudo, or its full
    path where sudo would not find it)."""
    from clb_wizard.invocation import root_command as as_root

    return as_root(is_root=state.launch.is_root)


def last_change_text(host: Host) -> str:
    """When the newest kept change was made, and what it was, in a few words."""
    import time

    change = host.last_change
    when = change.history[-1][1] if change.history else None
    at = time.strftime("%Y-%m-%d %H:%M", time.localtime(when)) if when else change.id
    kind = f", {host.last_clb_type} CLB" if host.last_clb_type else ""
    vips = ", ".join(change.vips) or "no VIP"
    return f"changed by clb-wizard on {at} ({vips}{kind})"
