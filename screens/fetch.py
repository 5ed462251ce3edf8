"""The VIPs step's cloud path: ask the cloud API (clb_wizard.cloud, the vendor SDK) for a CLB's
VIPs, by its id or by finding the CLBs this host is a backend of.

The keys come from --keys-file, the environment (UCLOUD_PUBLIC_KEY, ...) or are typed
here; the private key's field is masked until F4 shows it. Beside each key, its checksum
(credentials.key_checksum: the first six characters of its SHA-256), so a key typed on a
console can be compared with the original by six characters, never read aloud. The keys
stay in memory: nothing here writes or logs them. Region and project: what is typed, else
the keys file or UCLOUD_REGION/UCLOUD_PROJECT_ID, else this instance's metadata (a line
says which). "VPC-internal API" uses UCloud's internal endpoint, for hosts without
internet access. Every refusal (a CloudError) is shown in place (a key the API refused gets
the focus); Back returns to typing the VIPs by hand. All of it goes through the service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Optional

from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.strip import Strip
from textual.widgets import Button, Input, SelectionList
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from clb_wizard.errors import ClbWizardError
from clb_wizard.service import key_checksum
from clb_wizard.wording import count

from .base import StepScreen
from .controls import SecretInput, Tick
from .widgets import Note, Spinner, console_safe

if TYPE_CHECKING:
    from textual.widget import Widget

    from clb_wizard.service import Clb, Credentials, ThisHost

# The API's answers for a wrong key: which field to fix, and the words for a console
# (where copying again is not an option: check it against its checksum instead).
RETCODE_SIGNATURE, RETCODE_NO_USER = 171, 172
KEY_REFUSED = {
    RETCODE_SIGNATURE: ("#private", "The private key does not belong to the public key "
                        "({said}). Check the private key character by character (F4 shows "
                        "it): its checksum here must match the original's."),
    RETCODE_NO_USER: ("#public", "The UCloud API does not know this public key ({said}). "
                      "Check it character by character: its checksum here must match the "
                      "original's."),
}
CHECKSUM_HOW = ("Checksums: on the machine the key came from, printf %s 'KEY' | sha256sum "
                "| cut -c1-6 gives the same six characters.")


class VipPicker(SelectionList):
    """The fetched VIPs: Space ticks one, Enter takes the ticked ones. Each is drawn [X] or
    [ ], so the state reads without colour; a line too long is cut with "..." by the
    screen (never Textual's "…", which the console font lacks)."""

    DEFAULT_CSS = """
    VipPicker {
        height: 1fr;
        text-overflow: clip;
    }
    """

    BINDINGS: ClassVar[list] = [
        Binding("enter", "screen.next", "Use ticked", key_display="Enter"),
        Binding("space", "select", "Tick", key_display="Space"),
    ]

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        if len(segments) < 4:
            return strip
        ticked = selection.value in self.selected
        base = segments[3].style
        button = [Segment("[", base), Segment("X" if ticked else " ", segments[1].style),
                  Segment("]", base)]
        return Strip(button + segments[3:], strip.cell_length)


class FetchScreen(StepScreen):
    DEFAULT_CSS = """
    FetchScreen #form {
        height: auto;
    }
    FetchScreen #form .field {
        height: 1;
    }
    FetchScreen #form Input {
        width: 1fr;
    }
    FetchScreen #form .sum {
        width: 11;
        padding-left: 1;
    }
    FetchScreen #status {
        height: auto;
        margin: 1 0 0 0;
    }
    """
    STEP = "VIPs"
    HELP = ("Fetch the VIPs from the cloud API. Keys come from UCLOUD_PUBLIC_KEY and "
            "UCLOUD_PRIVATE_KEY or are typed here (memory only). No CLB id: find this host's.")
    NEXT_LABEL = "Use ticked VIPs"
    BINDINGS: ClassVar[list] = [  # a form: Up/Down move between its fields too
        Binding("down", "app.focus_next", "Next field", show=False),
        Binding("up", "app.focus_previous", "Previous field", show=False),
        Binding("f4", "reveal", "Show/hide key", key_display="F4"),
    ]
    LABEL_ROOM = 4  # the picker's "[X] " before each label

    def __init__(self) -> None:
        super().__init__()
        self.clbs: list[Clb] = []
        self.fetching = False
        self.creds: Optional[Credentials] = None
        self.host: Optional[ThisHost] = None  # this host, as the last fetch knew it
        self.internal = False

    def given(self) -> tuple[dict[str, str], Optional[str]]:
        """The settings from --keys-file (over the environment's), and why the file could
        not be read, if so."""
        values = dict(self.wizard.env)
        path = self.wizard.keys_file
        if not path:
            return values, None
        try:
            values.update(self.engine.keys_file(path))
        except ClbWizardError as exc:
            return values, str(exc)
        return values, None

    def compose_body(self) -> ComposeResult:
        env, self.keys_file_error = self.given()
        with Vertical(id="form"):
            with Horizontal(classes="field"):
                yield Note("Public key", classes="label")
                yield Input(env.get("UCLOUD_PUBLIC_KEY", ""), id="public", compact=True)
                yield Note("", classes="sum", id="public-sum")
            with Horizontal(classes="field"):
                yield Note("Private key", classes="label")
                yield SecretInput(env.get("UCLOUD_PRIVATE_KEY", ""), id="private")
                yield Note("", classes="sum", id="private-sum")
            with Horizontal(classes="field"):
                yield Note("Region", classes="label")
                yield Input(env.get("UCLOUD_REGION", ""), placeholder="e.g. cn-bj2",
                            id="region", compact=True)
                yield Note("Project", classes="label short")
                yield Input(env.get("UCLOUD_PROJECT_ID", ""), placeholder="org-... (optional)",
                            id="project", compact=True)
            with Horizontal(classes="field"):
                yield Note("CLB id", classes="label")
                yield Input(placeholder="ulb-... (empty: find the CLBs of this host)",
                            id="ulb", compact=True)
            with Horizontal(classes="field"):
                yield Note("Endpoint", classes="label")
                yield Tick("VPC-internal API (HTTP, for hosts without internet; Space)",
                           env.get("CLB_WIZARD_API_URL", "").lower() == "internal",
                           id="internal")
        with Vertical(id="status"):
            if self.keys_file_error:
                yield Note(self.keys_file_error, classes="-error")
            else:
                yield Note("Fill in the keys, then press Enter to fetch. F4 shows the private "
                           "key.", classes="hint")
        yield VipPicker(id="picked", compact=True)

    def compose_buttons(self) -> ComposeResult:
        yield Button("Fetch (Enter)", id="fetch", compact=True)

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = self.wizard.cursor_blink
        self.query_one("#picked").display = False
        first_empty = next((f for f in self.query(Input) if not f.value), None)
        (first_empty or self.query_one("#ulb", Input)).focus()
        self.update_buttons()
        for field_id in ("public", "private"):
            self.show_checksum(field_id)
        if not (self.query_one("#region", Input).value and
                self.query_one("#project", Input).value):
            self.prefill()

    # -- the keys: checksums, reveal ------------------------------------------------------
    def show_checksum(self, field_id: str) -> None:
        value = self.query_one(f"#{field_id}", Input).value
        self.query_one(f"#{field_id}-sum", Note).update(
            f"sum {key_checksum(value)}" if value.strip() else "")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("public", "private"):
            self.show_checksum(event.input.id)

    def action_reveal(self) -> None:
        secret = self.query_one("#private", SecretInput)
        secret.password = not secret.password
        self.status(Note(("The private key is shown: F4 hides it again. " if not
                          secret.password else "The private key is hidden. ") + CHECKSUM_HOW,
                         classes="hint"))

    @work(thread=True, exclusive=True, group="metadata", exit_on_error=False)
    def prefill(self) -> None:
        """Region and project from the instance metadata (quietly nothing elsewhere)."""
        defaults = self.engine.metadata_defaults()
        self.app.call_from_thread(self.fill_defaults, defaults)

    def fill_defaults(self, defaults: dict[str, Optional[str]]) -> None:
        if not self.is_attached:
            return
        filled = []
        for key, field_id in (("region", "#region"), ("project_id", "#project")):
            field = self.query_one(field_id, Input)
            if defaults.get(key) and not field.value:
                field.value = defaults[key]
                filled.append(key.replace("_id", ""))
        if filled:
            self.status(Note(f"{' and '.join(filled).capitalize()} from this instance's "
                             "metadata (typed values and UCLOUD_REGION/UCLOUD_PROJECT_ID "
                             "come first). Fill in the keys, then press Enter to fetch.",
                             classes="hint"))

    # -- fetching ----------------------------------------------------------------------------
    def status(self, *widgets: Widget) -> None:
        box = self.query_one("#status", Vertical)
        box.remove_children()
        box.mount_all(widgets)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.start_fetch()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "fetch":
            event.stop()
            self.start_fetch()
        else:
            super().on_button_pressed(event)

    def start_fetch(self) -> None:
        if self.fetching:
            return

        def value(field_id: str) -> str:
            return self.query_one(field_id, Input).value

        try:
            creds = self.engine.credentials(value("#public"), value("#private"),
                                            value("#region"), value("#project") or None,
                                            region_source="the Region field",
                                            project_source="the Project field")
        except ClbWizardError as exc:  # an empty key or region (CloudError)
            self.status(Note(str(exc), classes="-error"))
            self.focus_empty()
            return
        self.creds = creds
        self.fetching = True
        self.query_one("#picked").display = False
        ulb_id = value("#ulb").strip()
        what = f"Asking the API for {ulb_id}..." if ulb_id else "Listing the region's CLBs..."
        self.status(Spinner(what, id="spinner"))
        self.update_buttons()
        self.internal = self.query_one("#internal", Tick).value
        self.fetch(creds, ulb_id, self.state.choices.clb_type, self.internal)

    def focus_empty(self) -> None:
        """After "fill it in": the first empty field of the form gets the focus."""
        for field_id in ("#public", "#private", "#region"):
            field = self.query_one(field_id, Input)
            if not field.value.strip():
                field.focus()
                return

    @work(thread=True, exclusive=True, group="fetch", exit_on_error=False)
    def fetch(self, creds: Credentials, ulb_id: str, clb_type: Optional[str],
              internal: bool) -> None:
        # this host by its instance id and VPC (metadata), and by the addresses the Start
        # step read (none in a preview of another system: no host to find then)
        known = self.state.host
        try:
            host = (self.engine.this_host(private_ips=known.private_ips)
                    if known.addresses is not None else None)
            clbs = self.engine.clbs(creds, ulb_id or None, clb_type=clb_type, host=host,
                                    internal=internal)
        except ClbWizardError as exc:  # the API's refusal, or no answer (CloudError)
            self.app.call_from_thread(self.show_error, exc)
            return
        self.host = host
        self.app.call_from_thread(self.show_results, clbs, bool(ulb_id))

    def show_error(self, error: ClbWizardError) -> None:
        if not self.is_attached:  # gone back while the API was asked
            return
        self.fetching = False
        message, field = str(error), None
        if getattr(error, "code", None) in KEY_REFUSED:
            field, text = KEY_REFUSED[error.code]
            said = message[message.find("(") + 1:message.find(")")] if "(" in message else ""
            message = text.format(said=said or f"RetCode {error.code}")
        self.status(Note(message, classes="-error"),
                    *([Note(CHECKSUM_HOW, classes="hint")] if field else []))
        self.update_buttons()
        if field is not None:  # the key the API refused: one Tab away no more
            self.query_one(field, Input).focus()
        elif getattr(error, "suggest_internal", False):  # the internal endpoint: one Space
            self.query_one("#internal", Tick).focus()

    def show_results(self, clbs: list[Clb], by_id: bool) -> None:
        if not self.is_attached:
            return
        self.fetching = False
        self.clbs = clbs
        picker = self.query_one("#picked", VipPicker)
        picker.clear_options()
        notes: list[Note] = []
        if not clbs:
            notes.append(Note("The region has no CLB: check the region, or type the VIPs.",
                              classes="-warn"))
        wanted = self.state.choices.clb_type
        room = max(20, picker.size.width or (self.app.size.width - 4)) - self.LABEL_ROOM
        other_type = 0
        for clb in clbs:
            same_type = wanted is None or clb.ulb_type in (wanted, "unknown")
            chosen = by_id or (clb.matches_host and same_type)
            other_type += bool(clb.matches_host and not same_type and not by_id)
            for vip in clb.vips:
                kind = f"EIP {vip.operator}" if vip.operator else vip.kind
                label = self.fit(f"{vip.address:<16} {kind:<18} {clb.ulb_id} {clb.name}", room)
                # Text, not a markup string: a CLB name such as "[b]x" stays as it is.
                picker.add_option(Selection(Text(label), (vip.address, clb.ulb_id), chosen))
            for warning in clb.warnings if chosen else ():
                notes.append(Note(f"{clb.ulb_id}: {warning}", classes="-warn"))
        if clbs and not by_id:
            mine = sum(1 for c in clbs if c.matches_host)
            vpc = self.host.vpc_ids if self.host is not None else ()
            where = f"this host's VPC ({', '.join(vpc)})" if vpc else "the region"
            also = (f" ({other_type} of them {'is' if other_type == 1 else 'are'} not "
                    f"{wanted}: not ticked)" if other_type else "")
            notes.insert(0, Note(f"{count(len(clbs), 'CLB')} in {where}; {mine} with this "
                                 f"host as a backend, ticked{also}.", classes="hint"))
        notes.append(Note("Space ticks or unticks a VIP; Enter takes the ticked ones.",
                          classes="hint"))
        self.status(*notes)
        picker.display = bool(clbs)
        if clbs:
            picker.highlighted = 0
            picker.focus()
        self.update_buttons()

    # -- navigation ------------------------------------------------------------------------
    def back_refused(self) -> Optional[str]:
        return None

    def next_refused(self) -> Optional[str]:
        if self.fetching:
            return "Still waiting for the API."
        if not self.query_one("#picked", VipPicker).selected:
            return "Tick at least one VIP (Space), or go back and type them."
        return None

    def action_back(self) -> None:
        self.dismiss(None)

    def fit(self, label: str, room: int) -> str:
        """The label made console-safe on the console look, and cut with "..." to fit."""
        from rich.cells import cell_len

        if self.wizard.console_look:
            label = console_safe(label)
        if cell_len(label) <= room:
            return label
        while cell_len(label) > room - 3:
            label = label[:-1]
        return label + "..."

    def go_next(self) -> None:
        from .state import CloudChoice

        picked = self.query_one("#picked", VipPicker).selected
        addresses = list(dict.fromkeys(address for address, _ in picked))
        ulb_ids = tuple(dict.fromkeys(ulb_id for _, ulb_id in picked))
        # every CLB ticked gets its health check asked on Verify
        self.state.choices.cloud = CloudChoice(self.creds, ulb_ids, self.host, self.internal)
        where = ("CLB " if len(ulb_ids) == 1 else "CLBs ") + ", ".join(ulb_ids)
        self.dismiss((addresses, where))
