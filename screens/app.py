"""The wizard's App: its state, its keys, its look, and `run_wizard` (what `clb-wizard`
with no subcommand calls).

Start-up is kept short: only the Start step is imported here; the engine and the later
steps are imported by a background warm-up once the first frame is on screen.

Look: assets/wizard.tcss always; on a Linux text console (TERM=linux or vt*, e.g. the
cloud console's VNC window) also assets/console.tcss and a theme of native ANSI colours,
because the console font lacks the glyphs of Textual's default look; the same on any
terminal with 16 colours only. CLB_WIZARD_CONSOLE=1 or 0 forces it either way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import ClassVar, Optional


def _no_debug_log() -> None:
    """Textual's debug log (TEXTUAL_LOG) and devtools record every key and message: API
    keys typed into the fetch step would land there. The wizard runs without them. (Here,
    before Textual is imported, which reads them once.)"""
    os.environ.pop("TEXTUAL_LOG", None)
    features = [f for f in os.environ.get("TEXTUAL", "").split(",") if f.strip() != "devtools"]
    if "TEXTUAL" in os.environ:
        os.environ["TEXTUAL"] = ",".join(features)


_no_debug_log()

from textual.app import App  # noqa: E402
from textual.binding import Binding  # noqa: E402

from clb_wizard import assets  # noqa: E402
from clb_wizard.service import Service  # noqa: E402

from .clock import Clock  # noqa: E402
from .flow import FLOW, modules, position  # noqa: E402
from .state import WizardState, initial_state  # noqa: E402

# Stylesheets are package data of clb_wizard.assets (installed or editable alike), beside
# its __init__.py (importlib.resources would cost the first frame ~20 ms to say the same).
ASSETS = Path(assets.__file__).parent
CONSOLE_THEME = "clb-console"


def colour_depth(env: Mapping[str, str]) -> int:
    """How many colours the terminal offers, decided as Rich (Textual's output) decides."""
    if env.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return 1 << 24
    suffix = env.get("TERM", "").strip().lower().rpartition("-")[2]
    return 256 if suffix in ("256color", "kitty") else 16


def console_wanted(env: Mapping[str, str]) -> bool:
    """The console look on the Linux text console and VT terminals, and on any terminal
    that offers only 16 colours (its native ANSI colours read better than the default
    theme squeezed into 16); CLB_WIZARD_CONSOLE=1/0 forces it either way."""
    forced = env.get("CLB_WIZARD_CONSOLE", "").strip().lower()
    if forced in ("1", "yes", "true", "on"):
        return True
    if forced in ("0", "no", "false", "off"):
        return False
    term = env.get("TERM", "").strip().lower()
    if term == "linux" or term.startswith(("linux-", "vt")):
        return True
    return colour_depth(env) <= 16


class WizardApp(App[int]):
    TITLE = "clb-wizard"
    ENABLE_COMMAND_PALETTE = False
    # No Ctrl chord is needed: in a browser's VNC console Ctrl+Q, Ctrl+W and Ctrl+F belong
    # to the browser. F10 quits everywhere, Q where no field takes letters; Ctrl+Q stays
    # for terminals, unadvertised.
    BINDINGS = [
        Binding("f10", "quit", "Quit", key_display="F10", priority=True),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("q", "quit", "Quit", show=False),
    ]

    def __init__(
        self,
        *,
        root: str = "/",
        os_override: Optional[str] = None,
        method: Optional[str] = None,
        dry_run: bool = False,
        engine: Optional[Service] = None,
        console: Optional[bool] = None,
        env: Optional[Mapping[str, str]] = None,
        clock: Optional[Clock] = None,
        cursor_blink: bool = True,
        keys_file: Optional[str] = None,
    ) -> None:
        env = os.environ if env is None else env
        self.env = env
        self.console_look = console_wanted(env) if console is None else console
        css = [ASSETS / "wizard.tcss"]
        if self.console_look:
            css.append(ASSETS / "console.tcss")
        super().__init__(css_path=css)
        self.engine = engine or Service(root)
        self.state: WizardState = initial_state(root, os_override, method, dry_run,
                                                self.engine.is_root, env)
        self.keys_file = keys_file
        self.clock = clock or Clock()
        self.cursor_blink = cursor_blink
        if self.console_look:
            self.register_theme(console_theme())
            self.theme = CONSOLE_THEME
        self.use_scrollbar_glyphs(self.console_look)

    def get_default_screen(self):  # noqa: ANN201 - a Screen
        return FLOW[0].make()

    @staticmethod
    def use_scrollbar_glyphs(console: bool) -> None:
        """On the console, scrollbar thumbs without the eighth-block glyphs its font lacks.
        (Textual's renderer is per class: set it either way, so one process that runs
        both looks, as the tests do, gets each right.)"""
        if not console and "textual.scrollbar" not in sys.modules:
            return  # nothing set it yet (and the first frame need not import it)
        from textual.scrollbar import ScrollBar, ScrollBarRender

        ScrollBar.renderer = console_scrollbar_render() if console else ScrollBarRender

    def warm_up(self) -> None:
        """Import the later steps (and the engine they use) ahead of need; called from the
        Start step's worker thread once the first frame is up."""
        from importlib import import_module

        import pygments.lexers.diff  # noqa: F401 - the Preview's diffs
        import rich.syntax  # noqa: F401

        for name in (*modules()[1:], "controls", "dialogs", "fetch"):
            import_module(f"{__package__}.{name}")

    def go_to_step(self, name: str) -> None:
        """Back to an earlier step of the flow (popping the ones after it)."""
        position(name)  # a step of the flow
        while len(self.screen_stack) > 1 and getattr(self.screen, "STEP", name) != name:
            self.pop_screen()

    def another_change(self) -> None:
        """Back to the VIPs after a change was kept (or found not needed): what is
        configured now is where the next change starts; this run's kept changes stay
        listed (Done's undo covers them all)."""
        from clb_wizard.errors import Status

        state = self.state
        results, choices, host = state.results, state.choices, state.host
        if results.outcome is not None and results.outcome.status == Status.APPLIED:
            host.managed = tuple(results.plan.vips)
        choices.vips_seeded = choices.arp_seeded = choices.force = False
        choices.leaving = []
        results.plan = results.outcome = results.arp_fix = None
        results.refused = results.unconfirmed = None
        results.rounds += 1
        self.go_to_step("VIPs")

    async def action_quit(self) -> None:
        if self.state.results.applying:
            self.notify("The change is being applied: quitting now could leave it half "
                        "done. Wait until it finishes (it rolls back by itself on failure).",
                        severity="warning", timeout=6)
            return
        self.exit(self.exit_code())

    def finish(self) -> None:
        """The Done step's Quit."""
        self.exit(self.exit_code())

    def exit_code(self) -> int:
        return self.state.results.exit_code()


@cache
def console_scrollbar_render():  # noqa: ANN201 - a ScrollBarRender subclass
    """Scrollbar thumbs of blanks (drawn in reverse by the console theme), made once."""
    from textual.scrollbar import ScrollBarRender

    class ConsoleScrollBarRender(ScrollBarRender):
        VERTICAL_BARS: ClassVar[list[str]] = [" "] * 8
        HORIZONTAL_BARS: ClassVar[list[str]] = [" "] * 8

    return ConsoleScrollBarRender


def console_theme():  # noqa: ANN201 - a Theme
    """Native ANSI colours: what the Linux console shows best (it has 16)."""
    from textual.theme import Theme

    return Theme(
        name=CONSOLE_THEME,
        ansi=True,
        primary="ansi_blue",
        secondary="ansi_cyan",
        warning="ansi_yellow",
        error="ansi_red",
        success="ansi_green",
        accent="ansi_cyan",
        foreground="ansi_default",
        background="ansi_default",
        surface="ansi_default",
        panel="ansi_default",
        boost="ansi_default",
        dark=True,
        variables={
            "ansi-background": "ansi_black",
            "ansi-foreground": "ansi_white",
            "border-blurred": "ansi_black",
            "block-cursor-foreground": "ansi_black",
            "block-cursor-background": "ansi_white",
            "input-cursor-background": "ansi_white",
            "input-cursor-foreground": "ansi_black",
            "input-selection-background": "ansi_blue",
            "input-selection-foreground": "ansi_white",
            "footer-key-foreground": "ansi_bright_white",
            "footer-description-foreground": "ansi_white",
        },
    )


def run_wizard(root: str = "/", os_override: Optional[str] = None,
               method: Optional[str] = None, dry_run: bool = False,
               keys_file: Optional[str] = None) -> int:
    """Run the TUI; returns the exit code (the last transaction's; 2 for an apply that was
    refused; 0 if nothing ran). What happened stays on the terminal afterwards."""
    app = WizardApp(root=root, os_override=os_override, method=method, dry_run=dry_run,
                    keys_file=keys_file)
    code = app.run()
    if app.return_code:  # Textual's own failure (e.g. an exception in the app)
        return app.return_code
    from .done import print_summary

    print_summary(app.state)
    sys.stdout.flush()
    return int(code or 0)
