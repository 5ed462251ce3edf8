"""How the CLI words the end of a change, in plain words (issue 23, items 5 and 15).

- A change that was not confirmed in time is not a failure of the change: it worked and
  was verified, then it was rolled back because nobody confirmed it. It says so, and
  says how to keep it: apply again and confirm.
- After "rolled back" come the rollback's own checks, never the checks of the change it
  undid (an "[ok] VIP on lo" line there reads as if the VIP were still up).
- A file the change had created is "removed again", not "restored byte-exact".
"""

from __future__ import annotations

import os
from typing import Callable, Optional

from clb_wizard.errors import Status
from clb_wizard.transaction import Outcome
from clb_wizard.verify import Fact
from clb_wizard.wording import restored

NOT_CONFIRMED = "not confirmed in time: rolled back; apply again and confirm"
_UNDONE = (Status.ROLLED_BACK, Status.ROLLBACK_FAILED, Status.RECOVERED_BACK)


def not_confirmed(outcome: Outcome) -> bool:
    """Rolled back although its verification passed: the only way there is a confirm
    timer that ran out (in this session or by the watchdog)."""
    return (outcome.status == Status.ROLLED_BACK and not outcome.declined
            and outcome.verification is not None and outcome.verification.ok)


def headline(outcome: Outcome) -> str:
    """The one line for stderr and the top of the output."""
    if not_confirmed(outcome):
        return NOT_CONFIRMED[0].upper() + NOT_CONFIRMED[1:] + "."
    return outcome.message


def _mark(fact: Fact) -> str:
    return "ok" if fact.ok else ("FAIL" if fact.fatal else "warn")


def _rollback_fact(fact: Fact, exists: Callable[[str], bool]) -> str:
    if fact.name.endswith(" restored"):
        path = fact.name[:-len(" restored")]
        existed = exists(path) if fact.ok else None
        return f"{path}: {restored(fact.detail, fact.ok, existed)}"
    return f"{fact.name}: {fact.detail}"


def outcome_lines(outcome: Outcome, confirm_timeout: Optional[float] = None,
                  exists: Callable[[str], bool] = os.path.lexists) -> list[tuple[str, int]]:
    """(line, hanging indent) pairs: the headline, the checks that belong to it, and what
    to do. `exists`: whether a path is there now (a rolled-back file that is not, did not
    exist before the change)."""
    lines: list[tuple[str, int]] = [(headline(outcome), 0)]
    undone = outcome.status in _UNDONE
    if not_confirmed(outcome):
        within = f" within {confirm_timeout:g} s" if confirm_timeout else " in time"
        lines.append(("The change itself worked (every check passed) and the host is as "
                      "it was before. To keep it, apply it again and confirm" + within +
                      ": type y when asked, or run `clb-wizard confirm` from another "
                      "session.", 0))
    elif outcome.verification is not None:
        facts = outcome.verification.facts
        if undone:  # only why it was undone, said as the past
            facts = tuple(f for f in facts if not f.ok)
            if facts:
                lines.append(("Why (checked before the rollback):", 0))
        lines += [(f"  [{_mark(f):>4}] {f.name}: {f.detail}", 9) for f in facts]
    if undone and outcome.rollback_verification is not None:
        lines.append(("After the rollback:", 0))
        lines += [(f"  [{_mark(f):>4}] {_rollback_fact(f, exists)}", 9)
                  for f in outcome.rollback_verification.facts]
    return lines


__all__ = ["NOT_CONFIRMED", "headline", "not_confirmed", "outcome_lines"]
