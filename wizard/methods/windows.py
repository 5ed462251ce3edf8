"""Windows: a PowerShell script (loopback adapter + netsh), run on the Windows host.

Windows cannot be driven from here, so the plan carries the script and its undo script
as files for the Windows host; `apply` refuses to run them on Linux.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from clb_wizard.methods.base import (
    MARKER,
    Files,
    Fit,
    Method,
    Rendered,
    RenderInput,
    Transition,
    TransitionInput,
    cmd,
)

if TYPE_CHECKING:
    from clb_wizard.platform import NetworkStack, Release

DIR = "C:\\ProgramData\\clb-wizard"
SCRIPT = DIR + "\\clb-wizard-lo.ps1"
UNDO = DIR + "\\clb-wizard-lo-undo.ps1"

_FIND_LOOPBACK = """\
function Get-LoopbackAdapter {
    # Named "Microsoft KM-TEST Loopback Adapter" since Windows 8 / Server 2012.
    Get-NetAdapter -IncludeHidden | Where-Object { $_.InterfaceDescription -like '*Loopback Adapter*' } |
        Select-Object -First 1
}
"""


def _vip_array(vips: Sequence[str]) -> str:
    return "@(" + ", ".join(f"'{v}'" for v in vips) + ")"


def render_script(vips: Sequence[str]) -> str:
    return f"""\
# {MARKER}
# Run in an elevated PowerShell on the backend:
#   powershell.exe -NoProfile -ExecutionPolicy Bypass -File {SCRIPT}
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$Vips = {_vip_array(vips)}
{_FIND_LOOPBACK}
$lo = Get-LoopbackAdapter
if (-not $lo -and (Get-Command devcon.exe -ErrorAction SilentlyContinue)) {{
    devcon.exe install "$env:windir\\inf\\netloop.inf" '*MSLOOP' | Out-Null
    Start-Sleep -Seconds 5
    $lo = Get-LoopbackAdapter
}}
if (-not $lo) {{
    Write-Error ("No loopback adapter. In Device Manager choose Action > Add legacy hardware > " +
        "Install the hardware that I manually select > Network adapters > Microsoft > " +
        "Microsoft KM-TEST Loopback Adapter, then run this script again.")
    exit 1
}}
# The NIC that carries the default route receives the forwarded packets.
$route = Get-NetRoute -AddressFamily IPv4 -DestinationPrefix '0.0.0.0/0' |
    Sort-Object -Property RouteMetric | Select-Object -First 1
$nic = Get-NetAdapter -InterfaceIndex $route.ifIndex

Set-NetIPInterface -InterfaceIndex $lo.ifIndex -AddressFamily IPv4 -Dhcp Disabled
foreach ($vip in $Vips) {{
    if (-not (Get-NetIPAddress -InterfaceIndex $lo.ifIndex -IPAddress $vip -ErrorAction SilentlyContinue)) {{
        # /32 (mask 255.255.255.255); skipassource keeps Windows from using the VIP as a source.
        netsh interface ipv4 add address name="$($lo.Name)" address=$vip mask=255.255.255.255 skipassource=true
        if ($LASTEXITCODE -ne 0) {{ throw "netsh could not add $vip to $($lo.Name)" }}
    }}
}}
# Weak host model: accept packets for the VIP on the NIC, answer from the loopback's VIP.
foreach ($name in @($nic.Name, $lo.Name)) {{
    netsh interface ipv4 set interface interface="$name" weakhostreceive=enabled weakhostsend=enabled
    if ($LASTEXITCODE -ne 0) {{ throw "netsh could not set the weak host model on $name" }}
}}
$missing = @($Vips | Where-Object {{
    -not (Get-NetIPAddress -InterfaceIndex $lo.ifIndex -IPAddress $_ -ErrorAction SilentlyContinue) }})
if ($missing.Count -gt 0) {{ throw "Not on the loopback adapter: $($missing -join ', ')" }}
Write-Output "OK: $($Vips -join ', ') on $($lo.Name); weak host send/receive on $($nic.Name) and $($lo.Name)."
"""


def render_undo(vips: Sequence[str]) -> str:
    return f"""\
# {MARKER}
# Undo: removes the VIPs from the loopback adapter.
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$Vips = {_vip_array(vips)}
{_FIND_LOOPBACK}
$lo = Get-LoopbackAdapter
if (-not $lo) {{ Write-Output 'No loopback adapter: nothing to undo.'; exit 0 }}
foreach ($vip in $Vips) {{
    if (Get-NetIPAddress -InterfaceIndex $lo.ifIndex -IPAddress $vip -ErrorAction SilentlyContinue) {{
        netsh interface ipv4 delete address name="$($lo.Name)" address=$vip
    }}
}}
"""


class WindowsMethod(Method):
    name = "windows"
    title = "Windows loopback adapter (PowerShell + netsh)"
    host_os = "windows"

    def fits(self, release: Release, stack: NetworkStack) -> Fit:
        if release.family == "windows":
            return Fit(True, "Windows: a loopback adapter and netsh")
        return Fit(False, "a Windows method does not apply to Linux")

    def configured_vips(self, files: Files) -> list[str]:
        return []

    def render(self, given: RenderInput) -> Rendered:
        return Rendered(
            {SCRIPT: render_script(given.vips), UNDO: render_undo(given.vips)},
            {SCRIPT: 0o644, UNDO: 0o644},
            notes=("Windows: copy the script to the Windows host and run it there as "
                   "Administrator; clb-wizard cannot run it from Linux.",),
        )

    def transition(self, move: TransitionInput) -> Transition:
        run = cmd("run the script in an elevated PowerShell on the Windows host",
                  "powershell.exe", "-NoProfile", "-ExecutionPolicy", "Bypass", "-File", SCRIPT)
        return Transition(activate=(run,))
