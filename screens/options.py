"""Step 4: the ARP sysctls (explained), the confirm timer, dry run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Checkbox

from .base import StepScreen
from .controls import Tick
from .widgets import Note


class OptionsScreen(StepScreen):
    STEP = "Options"
    HELP = "Tab moves between the options, Space turns one on or off, Enter goes on."

    def compose_body(self) -> ComposeResult:
        state = self.state
        yield Tick("Set the ARP sysctls (arp_ignore=1, arp_announce=2), persistently",
                   state.arp_sysctls, id="arp")
        yield Note("Stops this server answering ARP for the VIPs on its other interfaces. "
                   "Needed when clients share its subnet; harmless otherwise.",
                   classes="explain")
        yield Tick(f"Confirm timer: keep the change only if I confirm within "
                   f"{state.confirm_seconds:g} s", state.confirm_timer, id="confirm")
        yield Note("For remote sessions: a change that cuts you off is rolled back by "
                   "itself." + (" On by default over SSH." if state.ssh else ""),
                   classes="explain")
        yield Tick("Dry run: show every step, change nothing", state.dry_run, id="dry",
                   disabled=state.preview)
        if state.preview:
            why = "Always on when walking through another system (--root/--os)."
        elif not state.is_root:
            why = "You are not root: only a dry run works (run clb-wizard with sudo to apply)."
        else:
            why = "Off: the change is applied, verified, and rolled back if anything fails."
        yield Note(why, classes="explain", id="dry-why")

    def on_mount(self) -> None:
        self.query_one("#arp").focus()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        name = event.checkbox.id
        if name == "arp":
            self.state.arp_sysctls = event.value
        elif name == "confirm":
            self.state.confirm_timer = event.value
        elif name == "dry":
            self.state.dry_run = event.value

    def go_next(self) -> None:
        from .preview import PreviewScreen

        self.app.push_screen(PreviewScreen())
