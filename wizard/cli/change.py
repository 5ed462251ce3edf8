"""`clb-wizard apply|add|remove`: which VIP set a change asks for, and the rule that a VIP
clb-wizard manages leaves service only when the user says so in plain words (issue 11).

    apply  --vip V ...   exactly these VIPs; dropping a managed one needs --remove-others
    add    --vip V ...   the managed VIPs, plus these
    remove --vip V ...   the managed VIPs, less these
Each takes --yes (or asks), --dry-run, --confirm-timeout, --arp-sysctls and --port.
"""

from __future__ import annotations

import argparse
from typing import Callable, Optional

from clb_wizard.plan import Plan
from clb_wizard.service import leaving_service

APPLY_COMMANDS = (
    ("replace", "apply", "apply exactly these VIPs, verify, and roll back automatically on "
     "failure"),
    ("add", "add", "add these VIPs to the ones clb-wizard manages here (keeps the others)"),
    ("remove", "remove", "take these VIPs out of service (keeps the others)"),
)


def removal_refused(args: argparse.Namespace, plan: Plan) -> Optional[str]:
    """A plan that takes VIPs out of service goes on only when the user said so."""
    if not plan.removed or args.dry_run or args.remove_others or args.change == "remove":
        return None
    them = "it" if len(plan.removed) == 1 else "them"
    return (f"{leaving_service(plan.removed)} To keep {them}, give every VIP with --vip "
            f"(or use `clb-wizard add`); to take {them} out of service, add --remove-others "
            "(or use `clb-wizard remove`). Nothing was changed.")


def add_arp_sysctls(p: argparse.ArgumentParser) -> None:
    p.add_argument("--arp-sysctls", action="store_true",
                   help="also set arp_ignore=1 and arp_announce=2, persistently")


def add_apply_args(p: argparse.ArgumentParser, change: str,
                   func: Callable[[argparse.Namespace], int]) -> None:
    p.add_argument("--yes", action="store_true", help="do not ask before applying")
    if change == "replace":
        p.add_argument("--remove-others", "--replace", dest="remove_others",
                       action="store_true", help="take the VIPs clb-wizard manages here but "
                       "--vip does not list out of service (needed to remove any)")
    p.add_argument("--dry-run", action="store_true",
                   help="show every step without changing anything (no root needed)")
    p.add_argument("--confirm-timeout", type=float, metavar="S",
                   help="keep the change only if confirmed within S seconds (default 120 in an "
                   "interactive SSH session; 0 turns it off)")
    add_arp_sysctls(p)
    p.add_argument("--port", type=int, action="append", metavar="P",
                   help="warn when the service on port P listens on 127.0.0.1 only")
    p.set_defaults(func=func, change=change, remove_others=False)
