#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in ModemManager for the netns tests, driven line by line.

    standin.py DIR IFNAME

Starts a private "system" bus in DIR and, on it, test_modem.py's stand-in:
one modem, registered on LTE, whose network port is IFNAME. Prints
"address=ADDRESS" once ModemManager's name is taken, then reads commands on
stdin, one per line, and answers "done COMMAND" once each is on the bus:

    reg home|roaming|searching|denied|idle   the 3GPP registration
    quality N                                the signal quality, %
    quit                                     (or the end of stdin)

Exit 77 without python3-dbusmock or dbus-daemon, as test_modem.py.
"""
import os
import signal
import sys

sys.dont_write_bytecode = True  # run as root from the source tree: leave nothing in it
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_modem as tm  # noqa: E402 (exits 77 without dbusmock)

REG = {"idle": 0, "home": 1, "searching": 2, "denied": 3, "roaming": 5}


def command(standin, line):
    words = line.split()
    if words[:1] == ["reg"] and len(words) == 2 and words[1] in REG:
        standin.update(tm.I_3GPP, {"RegistrationState": tm.dbus.UInt32(REG[words[1]])})
    elif words[:1] == ["quality"] and len(words) == 2 and words[1].isdigit():
        standin.update(tm.I_MODEM, {"SignalQuality": tm.dbus.Struct(
            (tm.dbus.UInt32(int(words[1])), tm.dbus.Boolean(True)), signature="ub")})
    else:
        return False
    return True


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: standin.py DIR IFNAME\n")
        return 2
    tmp, tm.NET_PORT = sys.argv[1], sys.argv[2]
    address, bus_pid = tm.start_bus(tmp)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
    standin = None
    try:
        bus = tm.dbus.SystemBus()
        standin = tm.StandIn(bus, env)
        standin.start()
        standin.add_modem()
        tm.say(f"address={address}")
        for line in sys.stdin:
            line = line.strip()
            if line == "quit":
                break
            tm.say(("done " if command(standin, line) else "unknown ") + line)
    finally:
        if standin and standin.proc:
            standin.kill()
        os.kill(bus_pid, signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main())
