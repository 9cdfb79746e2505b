#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in ModemManager for the netns tests, driven line by line.

    standin.py DIR IFNAME [IFNAME...]

Starts a private "system" bus in DIR and, on it, test_modem.py's stand-in:
one modem per IFNAME, registered, whose network port is IFNAME: the first a
Quectel EM12-G on LTE with Orange F (test_modem.py's), each other one a
Quectel RM500Q-GL on 5G with SFR. Prints "address=ADDRESS" once
ModemManager's name is taken, then reads commands on stdin, one per line,
and answers "done COMMAND" once each is on the bus:

    [IFNAME] reg home|roaming|searching|denied|idle   the 3GPP registration
    [IFNAME] quality N                                the signal quality, %
    [IFNAME] sim pin|ready                            the SIM locked (PIN), or not
    quit                                              (or the end of stdin)

IFNAME (the first one when left out) names the modem. Exit 77 without
python3-dbusmock or dbus-daemon, as test_modem.py.
"""
import os
import signal
import sys

sys.dont_write_bytecode = True  # run as root from the source tree: leave nothing in it
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_modem as tm  # noqa: E402 (exits 77 without dbusmock)

dbus = tm.dbus
REG = {"idle": 0, "home": 1, "searching": 2, "denied": 3, "roaming": 5}
STATE_LOCKED = 2
REG_UNKNOWN = 4


def set_props(standin, path, iface, props):
    obj = dbus.Interface(standin.bus.get_object(tm.MM, path), dbus.PROPERTIES_IFACE)
    for name, value in props.items():
        obj.Set(iface, name, value)


def add_other(standin, i, ifname):
    """Modem i (1, 2, ...) on @ifname: a 5G one, with its SIM and bearer."""
    modem, sim = f"{tm.MM_PATH}/Modem/{i}", f"{tm.MM_PATH}/SIM/{i}"
    bearer = f"{tm.MM_PATH}/Bearer/{i}"
    props = tm.modem_props()
    props.update({
        "Sim": dbus.ObjectPath(sim),
        "Bearers": dbus.Array([dbus.ObjectPath(bearer)], signature="o"),
        "Model": dbus.String("RM500Q-GL"),
        "PrimaryPort": dbus.String(f"cdc-wdm{i}"),
        "Ports": dbus.Array([dbus.Struct((f"cdc-wdm{i}", dbus.UInt32(6)), signature="su"),
                             dbus.Struct((ifname, dbus.UInt32(tm.PORT_NET)), signature="su")],
                            signature="(su)"),
        "AccessTechnologies": dbus.UInt32(tm.TECH_LTE | tm.TECH_5GNR),
        "SignalQuality": dbus.Struct((dbus.UInt32(58), dbus.Boolean(True)), signature="ub"),
    })
    m3gpp = tm.modem_3gpp_props()
    m3gpp.update({"OperatorCode": dbus.String("20810"), "OperatorName": dbus.String("SFR")})
    standin.main.AddObject(sim, tm.I_SIM, {"Active": dbus.Boolean(True)},
                           [("SendPin", "s", "", tm.send_pin_code(modem)),
                            ("SendPuk", "ss", "", "")])
    standin.main.AddObject(bearer, tm.I_BEARER, {"Connected": dbus.Boolean(True),
                                                 "Interface": dbus.String(ifname)}, [])
    standin.main.AddObject(modem, tm.I_MODEM, props, [("Reset", "", "", "")])
    m = standin.mock(modem)
    m.AddProperties(tm.I_3GPP, m3gpp)
    m.AddProperties(tm.I_SIGNAL, tm.signal_props())
    m.AddMethod(tm.I_SIGNAL, "Setup", "u", "",
                "self.UpdateProperties('%s', {'Rate': dbus.UInt32(args[0])})" % tm.I_SIGNAL)
    standin.main.EmitSignal(tm.OM, "InterfacesAdded", "oa{sa{sv}}", [
        dbus.ObjectPath(modem), dbus.Dictionary(
            {tm.I_MODEM: props, tm.I_3GPP: m3gpp, tm.I_SIGNAL: tm.signal_props()},
            signature="sa{sv}")])


def command(standin, modems, line):
    words = line.split()
    path = modems[0][1]
    if words and words[0] in dict(modems):
        path = dict(modems)[words.pop(0)]
    if words[:1] == ["reg"] and len(words) == 2 and words[1] in REG:
        set_props(standin, path, tm.I_3GPP, {"RegistrationState": dbus.UInt32(REG[words[1]])})
    elif words[:1] == ["quality"] and len(words) == 2 and words[1].isdigit():
        set_props(standin, path, tm.I_MODEM, {"SignalQuality": dbus.Struct(
            (dbus.UInt32(int(words[1])), dbus.Boolean(True)), signature="ub")})
    elif words == ["sim", "pin"]:
        # As ModemManager: a locked modem registers nowhere (its registration unknown).
        set_props(standin, path, tm.I_MODEM, {"UnlockRequired": dbus.UInt32(tm.LOCK_SIM_PIN),
                                              "State": dbus.Int32(STATE_LOCKED)})
        set_props(standin, path, tm.I_3GPP, {"RegistrationState": dbus.UInt32(REG_UNKNOWN)})
    elif words == ["sim", "ready"]:
        set_props(standin, path, tm.I_MODEM, {"UnlockRequired": dbus.UInt32(tm.LOCK_NONE),
                                              "State": dbus.Int32(tm.STATE_REGISTERED)})
        set_props(standin, path, tm.I_3GPP, {"RegistrationState": dbus.UInt32(REG["home"])})
    else:
        return False
    return True


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: standin.py DIR IFNAME [IFNAME...]\n")
        return 2
    tmp, tm.NET_PORT = sys.argv[1], sys.argv[2]
    modems = [(sys.argv[2], tm.MODEM)] + [
        (name, f"{tm.MM_PATH}/Modem/{i}") for i, name in enumerate(sys.argv[3:], 1)]
    address, bus_pid = tm.start_bus(tmp)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
    standin = None
    try:
        bus = tm.dbus.SystemBus()
        standin = tm.StandIn(bus, env)
        standin.start()
        standin.add_modem()
        for i, name in enumerate(sys.argv[3:], 1):
            add_other(standin, i, name)
        tm.say(f"address={address}")
        for line in sys.stdin:
            line = line.strip()
            if line == "quit":
                break
            tm.say(("done " if command(standin, modems, line) else "unknown ") + line)
    finally:
        if standin and standin.proc:
            standin.kill()
        os.kill(bus_pid, signal.SIGTERM)
    return 0


if __name__ == "__main__":
    sys.exit(main())
