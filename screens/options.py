"""Step 4: the ARP sysctls (explained, and ticked when the host already has them), the
confirm timer (only where a change can cut a session off), dry run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Checkbox

from .base import StepScreen
from .controls import Tick
from .widgets import Note

ARP_LABEL = "Set the ARP sysctls (arp_ignore=1, arp_announce=2), persistently"


class OptionsScreen(StepScreen):
    DEFAULT_CSS = """
    OptionsScreen .explain {
        padding-left: 4;
        margin-bottom: 1;
        color: $text-muted;
    }
    """
    STEP = "Options"
    HELP = "Tab moves between the options, Space turns one on or off, Enter goes on."

    def __init__(self) -> None:
        super().__init__()
        choices, host = self.state.choices, self.state.host
        if not choices.arp_seeded:  # ticked when the host has them already (a later visit)
            choices.arp_seeded = True
            choices.arp_sysctls = choices.arp_sysctls or bool(host.arp_set)

    def compose_body(self) -> ComposeResult:
        launch, choices, host = self.state.launch, self.state.choices, self.state.host
        yield Tick(ARP_LABEL, choices.arp_sysctls, id="arp")
        why = ("Stops this server answering ARP for the VIPs on its other interfaces. "
               "Needed when clients share its subnet; harmless otherwise.")
        if host.arp_set:
            why = ("Set on this host now. Ticked, clb-wizard keeps them in /etc/sysctl.d "
                   "as well; unticked leaves them as they are (it never turns them off).")
        yield Note(why, classes="explain", id="arp-why")
        if not launch.preview:  # a preview applies nothing: no session to lose
            yield Tick(f"Confirm timer: keep the change only if I confirm within "
                       f"{choices.confirm_seconds:g} s", choices.confirm_timer, id="confirm")
            yield Note("For remote sessions: a change that cuts you off is rolled back by "
                       "itself." + (" On by default over SSH." if launch.ssh else ""),
                       classes="explain")
        yield Tick("Dry run: show every step, change nothing", choices.dry_run, id="dry",
                   disabled=launch.preview)
        if launch.preview:
            why = "Always on when walking through another system (--root/--os)."
        elif not launch.is_root:
            why = "You are not root: only a dry run works (run clb-wizard as root to apply)."
        else:
            why = "Off: the change is applied, verified, and rolled back if anything fails."
        yield Note(why, classes="explain", id="dry-why")

    def on_mount(self) -> None:
        self.query_one("#arp").focus()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        choices = self.state.choices
        name = event.checkbox.id
        if name == "arp":
            choices.arp_sysctls = event.value
        elif name == "confirm":
            choices.confirm_timer = event.value
        elif name == "dry":
            choices.dry_run = event.value
