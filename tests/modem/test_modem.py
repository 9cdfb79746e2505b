#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The modem library against a stand-in ModemManager on a private bus.

No modem, no root, no namespace. A private dbus-daemon (its own config, a
"system" bus in a temporary directory) carries a python3-dbusmock process
that owns org.freedesktop.ModemManager1 with an ObjectManager at
/org/freedesktop/ModemManager1. Debian 12's dbusmock (0.28) has no
ModemManager template, so the objects are built here: one modem,
.../Modem/0, with the Modem, Modem3gpp and Modem.Signal interfaces, the
property types of ModemManager's introspection XML, its Ports naming
("wwan0", NET) and a SIM object .../SIM/0. mm_read (tests/modem/mm_read.c)
watches wwan0 and eth0 and prints JSON lines; the checks read those.

Usage: test_modem.py MM_READ MM_CTL (mm_ctl: the controls, controls()). Exit 0 passed, 1 failed, 77 skipped.
"""
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

try:
    import dbus
    import dbusmock
except ImportError:
    print("SKIP: python3-dbusmock (and python3-dbus) not installed")
    sys.exit(77)
if not shutil.which("dbus-daemon"):
    print("SKIP: dbus-daemon not installed")
    sys.exit(77)

MM = "org.freedesktop.ModemManager1"
MM_PATH = "/org/freedesktop/ModemManager1"
MODEM = MM_PATH + "/Modem/0"
SIM = MM_PATH + "/SIM/0"
I_MODEM = MM + ".Modem"
I_3GPP = MM + ".Modem.Modem3gpp"
I_SIGNAL = MM + ".Modem.Signal"
I_SIM = MM + ".Sim"
I_SIMPLE = MM + ".Modem.Simple"
I_BEARER = MM + ".Bearer"
BEARER = MM_PATH + "/Bearer/0"
GOOD_PIN = "4711"  # the stand-in's SIM takes this one; any other lowers its attempts
WRONG_PIN = "90210"
OM = "org.freedesktop.DBus.ObjectManager"

# ModemManager's numbers (ModemManager-enums.h).
PORT_AT, PORT_NET = 3, 2
TECH_LTE, TECH_5GNR, TECH_UMTS = 1 << 14, 1 << 15, 1 << 5
STATE_FAILED, STATE_DISABLED, STATE_REGISTERED = -1, 3, 8
FAILED_SIM_MISSING = 2
REG_HOME, REG_SEARCHING = 1, 2
LOCK_NONE, LOCK_SIM_PIN, LOCK_SIM_PUK = 1, 2, 4

BOUND_S = 5.0  # a change must be seen within this (generous; the figures are printed)
BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={dir}/system_bus_socket</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


# Sim.SendPin: a wrong PIN costs an attempt (the modem's UnlockRetries) and is refused
# as ModemManager refuses it. Runs in the dbusmock process (its "objects"). In
# ModemManager's order: the property's value is set before the answer, and its
# PropertiesChanged is emitted from an idle callback, here 300 ms after the answer (a
# client reading its proxy's cache at the answer would see the count from before).
def send_pin_code(modem_path):
    """SendPin's code for the SIM of the modem at @modem_path."""
    return SEND_PIN.replace("@MODEM@", modem_path)


SEND_PIN = f"""
if args[0] != '{GOOD_PIN}':
    from gi.repository import GLib
    modem = objects['@MODEM@']
    left = dict(modem.props['{MM}.Modem']['UnlockRetries'])
    left[dbus.UInt32({LOCK_SIM_PIN})] = dbus.UInt32(max(0, int(left[dbus.UInt32({LOCK_SIM_PIN})]) - 1))
    new = dbus.Dictionary(left, signature='uu')
    modem.props['{MM}.Modem']['UnlockRetries'] = new
    GLib.timeout_add(300, lambda modem=modem, new=new: modem.EmitSignal(
        'org.freedesktop.DBus.Properties', 'PropertiesChanged', 'sa{{sv}}as',
        ['{MM}.Modem', dbus.Dictionary({{'UnlockRetries': new}}, signature='sv'),
         dbus.Array([], signature='s')]) and False)
    raise dbus.exceptions.DBusException(
        'Incorrect password', name='{MM}.Error.MobileEquipment.IncorrectPassword')
"""


def signal_dict(values):
    return dbus.Dictionary({k: dbus.Double(v) for k, v in values.items()}, signature="sv")


NET_PORT = "wwan0"  # the modem's network port: the interface an uplink names
BEARER_IFACE = None  # the bearer's Interface; None: NET_PORT (QMI mux: "qmimux0")


def modem_props(enabled=True):
    """A modem enabled and registered, or one disabled (as ModemManager shows it before Enable)."""
    return {
        "Sim": dbus.ObjectPath(SIM),
        "Bearers": dbus.Array([dbus.ObjectPath(BEARER)], signature="o"),
        "Manufacturer": dbus.String("Quectel"),
        "Model": dbus.String("EM12-G"),
        "Revision": dbus.String("EM12GPAR01A21M4G"),
        "Plugin": dbus.String("quectel"),
        "PrimaryPort": dbus.String("cdc-wdm0"),
        "Ports": dbus.Array([dbus.Struct(("cdc-wdm0", dbus.UInt32(6)), signature="su"),
                             dbus.Struct(("ttyUSB2", dbus.UInt32(PORT_AT)), signature="su"),
                             dbus.Struct((NET_PORT, dbus.UInt32(PORT_NET)), signature="su")],
                            signature="(su)"),
        "State": dbus.Int32(STATE_REGISTERED if enabled else STATE_DISABLED),
        "StateFailedReason": dbus.UInt32(0),
        "UnlockRequired": dbus.UInt32(LOCK_NONE),
        "UnlockRetries": dbus.Dictionary({dbus.UInt32(LOCK_SIM_PIN): dbus.UInt32(3),
                                          dbus.UInt32(LOCK_SIM_PUK): dbus.UInt32(10)},
                                         signature="uu"),
        "AccessTechnologies": dbus.UInt32(TECH_LTE if enabled else 0),
        "SignalQuality": dbus.Struct((dbus.UInt32(72 if enabled else 0), dbus.Boolean(enabled)),
                                     signature="ub"),
    }


def modem_3gpp_props():
    return {
        "Imei": dbus.String("861234567890123"),
        "RegistrationState": dbus.UInt32(REG_HOME),
        "OperatorCode": dbus.String("20801"),
        "OperatorName": dbus.String("Orange F"),
    }


def signal_props():
    return {
        "Rate": dbus.UInt32(0),
        "Lte": signal_dict({"rsrp": -95.0, "rsrq": -11.0, "snr": 12.5, "rssi": -65.0}),
        "Nr5g": signal_dict({"rsrp": -88.0, "rsrq": -10.5, "snr": 18.0}),
        "Umts": signal_dict({}),
        "Gsm": signal_dict({}),
    }


def say(line):
    """One line in one write: the reader's threads print too."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)
    say(f"ok: {what}")


class Reader:
    """mm_read's JSON lines, each with the time it arrived."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._out, daemon=True).start()
        self.err_thread = threading.Thread(target=self._err, daemon=True)
        self.err_thread.start()

    def _out(self):
        for line in self.proc.stdout:
            if os.environ.get("MODEM_TEST_VERBOSE"):
                say("  line: " + line.rstrip("\n"))
            self.lines.put((time.monotonic(), json.loads(line)))

    def _err(self):
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip("\n"))
            say("  mm_read: " + line.rstrip("\n"))

    def wait(self, pred, what, bound=BOUND_S):
        """The first line (from now on) that satisfies pred, and when it came."""
        end = time.monotonic() + bound
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise Failed(f"not seen within {bound} s: {what}")
            try:
                t, obj = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if pred(obj):
                return t, obj

    def radio(self, ifname, pred, what, bound=BOUND_S):
        return self.wait(lambda o: o.get("ifname") == ifname and pred(o), what, bound)

    def stop(self):
        """SIGTERM; its exit status, 1 too when a sanitizer (-DMPS_SANITIZE=ON) spoke."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=10)
        self.err_thread.join(timeout=10)
        if any("Sanitizer" in l or "runtime error" in l for l in self.stderr):
            return rc or 1
        return rc


class StandIn:
    """The stand-in ModemManager: a dbusmock process and the objects it carries."""

    def __init__(self, bus, env):
        self.bus, self.env = bus, env
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "dbusmock", "--system", "-m",
                                      MM, MM_PATH, MM], env=self.env,
                                     stdout=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while not self.bus.name_has_owner(MM):
            if time.monotonic() > end or self.proc.poll() is not None:
                raise Failed("the stand-in did not take ModemManager's name")
            time.sleep(0.05)
        self.main = dbus.Interface(self.bus.get_object(MM, MM_PATH), dbusmock.MOCK_IFACE)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def mock(self, path):
        return dbus.Interface(self.bus.get_object(MM, path), dbusmock.MOCK_IFACE)

    def add_modem(self, enabled=True):
        """The SIM and the modem; a disabled modem has no Modem3gpp or Signal interface yet."""
        self.main.AddObject(SIM, I_SIM, {"Active": dbus.Boolean(True),
                                         "SimIdentifier": dbus.String("8933150000000000000"),
                                         "OperatorName": dbus.String("Orange")},
                            [("SendPin", "s", "", send_pin_code(MODEM)),
                             ("SendPuk", "ss", "", "")])
        self.main.AddObject(BEARER, I_BEARER, {"Connected": dbus.Boolean(True),
                                               "Interface": dbus.String(BEARER_IFACE or NET_PORT)},
                            [])
        self.main.AddObject(MODEM, I_MODEM, modem_props(enabled),
                            [("Reset", "", "", ""), ("Enable", "b", "", "")])
        m = self.mock(MODEM)
        m.AddMethod(I_SIMPLE, "Connect", "a{sv}", "o", "ret = dbus.ObjectPath('%s')" % BEARER)
        # Simple has no properties, and dbusmock lists an interface in GetManagedObjects only
        # when it has some: an empty one put there by a method of the stand-in's own.
        m.AddMethod(I_SIMPLE, "StandInListed", "", "", "self.props.setdefault('%s', {})" % I_SIMPLE)
        dbus.Interface(self.bus.get_object(MM, MODEM), I_SIMPLE).StandInListed()
        ifaces = {I_MODEM: modem_props(enabled), I_SIMPLE: {}}
        if enabled:
            ifaces.update(self._enabled_interfaces())
        self.interfaces_added(ifaces)

    def enable(self):
        """What ModemManager does once a modem is enabled: its 3GPP and Signal interfaces."""
        self.interfaces_added(self._enabled_interfaces())
        self.update(I_MODEM, {k: v for k, v in modem_props().items()
                              if k in ("State", "AccessTechnologies", "SignalQuality")})

    def _enabled_interfaces(self):
        m = self.mock(MODEM)
        m.AddProperties(I_3GPP, modem_3gpp_props())
        m.AddProperties(I_SIGNAL, signal_props())
        # Setup(rate): ModemManager's answer is the Rate property changed.
        m.AddMethod(I_SIGNAL, "Setup", "u", "",
                    "self.UpdateProperties('%s', {'Rate': dbus.UInt32(args[0])})" % I_SIGNAL)
        return {I_3GPP: modem_3gpp_props(), I_SIGNAL: signal_props()}

    def slow_reset(self, seconds):
        """Reset answers after @seconds (the stand-in answers nothing else meanwhile)."""
        self.mock(MODEM).AddMethod(I_MODEM, "Reset", "", "", f"import time; time.sleep({seconds})")

    def interfaces_added(self, ifaces):
        self.main.EmitSignal(OM, "InterfacesAdded", "oa{sa{sv}}", [
            dbus.ObjectPath(MODEM), dbus.Dictionary(ifaces, signature="sa{sv}")])

    def interfaces_removed(self, names):
        self.main.EmitSignal(OM, "InterfacesRemoved", "oas", [dbus.ObjectPath(MODEM), names])

    def remove_modem(self):
        self.main.RemoveObject(SIM)
        self.main.RemoveObject(BEARER)
        self.main.RemoveObject(MODEM)
        self.interfaces_removed([I_MODEM, I_3GPP, I_SIGNAL, I_SIMPLE])

    def update(self, iface, props):
        # Properties.Set, which emits PropertiesChanged: 0.28's UpdateProperties
        # cannot wrap a struct (SignalQuality) in a variant.
        obj = dbus.Interface(self.bus.get_object(MM, MODEM), dbus.PROPERTIES_IFACE)
        for name, value in props.items():
            obj.Set(iface, name, value)


def start_bus(tmp):
    """A private "system" bus at a path of its own: the same address when it is started again."""
    conf = os.path.join(tmp, "bus.conf")
    with open(conf, "w") as f:
        f.write(BUS_CONF.format(dir=tmp))
    out = subprocess.check_output(["dbus-daemon", "--config-file=" + conf, "--fork",
                                   "--print-address=1", "--print-pid=1"], text=True)
    lines = out.split()
    return lines[0], int(lines[1])


def timed_change(reader, standin, iface, props, pred, what):
    t0 = time.monotonic()
    standin.update(iface, props)
    t, obj = reader.radio("wwan0", pred, what)
    say(f"figure: {what}: seen in {(t - t0) * 1000:.1f} ms")
    return obj


def expect_values(reader):
    _, eth0 = reader.radio("eth0", lambda o: o["status"] == "running", "eth0 while running")
    check(not eth0["present"], "eth0 (no modem has it as its network port) is not a modem")
    _, r = reader.radio("wwan0", lambda o: o["present"] and o["signal_rate_s"] == 5,
                        "wwan0's modem, its signal refresh set up")
    check(r["manufacturer"] == "Quectel" and r["model"] == "EM12-G", "model")
    check(r["operator_name"] == "Orange F" and r["operator_code"] == "20801", "operator")
    check(r["tech"] == "LTE" and r["reg"] == "home" and r["registered"], "LTE, home network")
    check(r["state"] == "registered", "modem state")
    check(r["quality"] == 72 and r["quality_recent"], "signal quality 72 %")
    check(r["lte"] == {"rsrp": -95.0, "rsrq": -11.0, "snr": 12.5, "rssi": -65.0}, "LTE values")
    check(r["nr"] == {"rsrp": -88.0, "rsrq": -10.5, "sinr": 18.0}, "5G NR values")
    check(r["rssi"] is None, "no 3G/2G RSSI")
    check(r["sim"] == "ready" and r["sim_retries"] == -1, "SIM ready")


def expect_changes(reader, standin):
    timed_change(reader, standin, I_MODEM,
                 {"SignalQuality": dbus.Struct((dbus.UInt32(31), True), signature="ub")},
                 lambda o: o["quality"] == 31, "signal quality 72 -> 31 %")
    timed_change(reader, standin, I_MODEM, {"AccessTechnologies": dbus.UInt32(TECH_LTE | TECH_5GNR)},
                 lambda o: o["tech"] == "5G", "access technology LTE -> 5G")
    timed_change(reader, standin, I_MODEM, {"AccessTechnologies": dbus.UInt32(TECH_UMTS)},
                 lambda o: o["tech"] == "3G", "access technology 5G -> 3G")
    r = timed_change(reader, standin, I_3GPP, {"RegistrationState": dbus.UInt32(REG_SEARCHING)},
                     lambda o: o["reg"] == "searching", "registration home -> searching")
    check(not r["registered"], "searching is not registered")
    timed_change(reader, standin, I_SIGNAL,
                 {"Lte": signal_dict({"rsrp": -112.0, "rsrq": -17.0, "snr": -2.0, "rssi": -81.0})},
                 lambda o: o["lte"]["rsrp"] == -112.0 and o["lte"]["snr"] == -2.0,
                 "LTE RSRP -95 -> -112 dBm")
    r = timed_change(reader, standin, I_MODEM, {"UnlockRequired": dbus.UInt32(LOCK_SIM_PIN)},
                     lambda o: o["sim"] == "pin", "SIM locked (PIN)")
    check(r["sim_retries"] == 3, "3 PIN attempts left")
    standin.update(I_MODEM, {"UnlockRetries": dbus.Dictionary(
        {dbus.UInt32(LOCK_SIM_PIN): dbus.UInt32(0), dbus.UInt32(LOCK_SIM_PUK): dbus.UInt32(9)},
        signature="uu")})
    r = timed_change(reader, standin, I_MODEM, {"UnlockRequired": dbus.UInt32(LOCK_SIM_PUK)},
                     lambda o: o["sim"] == "puk", "SIM locked (PUK)")
    check(r["sim_retries"] == 9, "9 PUK attempts left")
    standin.update(I_MODEM, {"StateFailedReason": dbus.UInt32(FAILED_SIM_MISSING)})
    r = timed_change(reader, standin, I_MODEM, {"State": dbus.Int32(STATE_FAILED)},
                     lambda o: o["sim"] == "missing", "SIM taken out (modem failed: SIM missing)")
    check(r["state"] == "failed" and r["sim_retries"] == -1, "a failed modem, no attempts shown")


def run(mm_read, tmp):
    address, bus_pid = start_bus(tmp)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    bus = dbus.bus.BusConnection(address)
    standin = StandIn(bus, env)
    # The bus address through DBUS_SYSTEM_BUS_ADDRESS (as gio reads it), no --bus.
    reader = Reader([mm_read, "wwan0", "eth0"], env)
    try:
        reader.wait(lambda o: o["status"] == "no ModemManager" and "ifname" not in o,
                    "no ModemManager yet")
        check(True, "started before ModemManager: says so, runs on")
        standin.start()
        t0 = time.monotonic()
        standin.add_modem()
        expect_values(reader)
        say(f"figure: the modem appeared in {(time.monotonic() - t0) * 1000:.1f} ms")
        calls = standin.mock(MODEM).GetMethodCalls("Setup")
        check([int(c[1][0]) for c in calls] == [5], "Modem.Signal.Setup(5) asked once")
        expect_changes(reader, standin)

        t0 = time.monotonic()
        standin.remove_modem()
        reader.radio("wwan0", lambda o: not o["present"], "the modem removed")
        say(f"figure: modem removed: seen in {(time.monotonic() - t0) * 1000:.1f} ms")
        check(True, "a removed modem is not present")
        standin.add_modem(enabled=False)
        _, r = reader.radio("wwan0", lambda o: o["present"], "the modem back, disabled")
        check(r["state"] == "disabled" and r["reg"] == "unknown" and r["tech"] == "" and
              r["signal_rate_s"] == 0 and r["lte"]["rsrp"] is None,
              "a modem plugged in again, disabled: present, no 3GPP or Signal interface yet")
        t0 = time.monotonic()
        standin.enable()
        reader.radio("wwan0", lambda o: o["reg"] == "home" and o["signal_rate_s"] == 5 and
                     o["lte"]["rsrp"] == -95.0 and o["quality"] == 72, "the modem enabled")
        say(f"figure: interfaces added (enabled): seen in {(time.monotonic() - t0) * 1000:.1f} ms")
        check(True, "enabled: its 3GPP and Signal interfaces are read, Setup asked")
        standin.interfaces_removed([I_SIGNAL])
        reader.radio("wwan0", lambda o: o["present"] and o["lte"]["rsrp"] is None and
                     o["signal_rate_s"] == 0 and o["reg"] == "home", "Signal interface removed")
        check(True, "the Signal interface removed: no extended values, the rest stays")

        t0 = time.monotonic()
        standin.kill()
        reader.wait(lambda o: o["status"] == "no ModemManager", "ModemManager gone")
        reader.radio("wwan0", lambda o: not o["present"], "no modem without ModemManager")
        say(f"figure: ModemManager killed: seen in {(time.monotonic() - t0) * 1000:.1f} ms")
        check(True, "ModemManager killed: no modem, the reader runs on")
        t0 = time.monotonic()
        standin.start()
        standin.add_modem()
        _, r = reader.radio("wwan0", lambda o: o["present"] and o["quality"] == 72,
                            "the modem after ModemManager's restart")
        say(f"figure: ModemManager restarted: modem seen in "
              f"{(time.monotonic() - t0) * 1000:.1f} ms")
        check(r["status"] == "running" and r["model"] == "EM12-G",
              "ModemManager restarted: the modem is back")
        check(len(standin.mock(MODEM).GetMethodCalls("Setup")) == 1,
              "Signal.Setup asked again of the new ModemManager")
    finally:
        rc = reader.stop()
        if standin.proc and standin.proc.poll() is None:
            standin.kill()
        os.kill(bus_pid, signal.SIGTERM)
    check(rc == 0, "mm_read stops on SIGTERM")
    said = [l for l in reader.stderr if "ModemManager is not running" in l]
    gone = [l for l in reader.stderr if "ModemManager went away" in l]
    check(len(said) == 1 and len(gone) == 1, "one line when ModemManager is missing, one when it goes")


def bus_comes_and_goes(mm_read, tmp):
    """No bus at first, then one; then the bus restarted under the reader."""
    address = "unix:path=" + os.path.join(tmp, "system_bus_socket")
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    reader = Reader([mm_read, "--retry", "1", "wwan0"], env)
    bus_pid, standin = None, None
    try:
        _, r = reader.radio("wwan0", lambda o: o["status"] == "no bus", "no bus")
        check(not r["present"], "no system bus: wwan0 not present, the reader runs on")
        for n in ("appears", "restarted"):
            t0 = time.monotonic()
            got, bus_pid = start_bus(tmp)
            check(got.startswith(address), f"the bus at its address ({got})")
            standin = StandIn(dbus.bus.BusConnection(address), env)
            standin.start()
            standin.add_modem()
            reader.radio("wwan0", lambda o: o["present"] and o["quality"] == 72, "modem on the bus")
            say(f"figure: bus {n} (retried every 1 s): modem seen in "
                  f"{(time.monotonic() - t0) * 1000:.1f} ms")
            check(True, f"bus {n}: the modem is read")
            if n == "appears":
                t0 = time.monotonic()
                os.kill(bus_pid, signal.SIGTERM)
                bus_pid = None
                reader.radio("wwan0", lambda o: o["status"] == "no bus" and not o["present"],
                             "the bus gone")
                say(f"figure: bus gone: seen in {(time.monotonic() - t0) * 1000:.1f} ms")
                check(True, "bus gone: wwan0 not present, the reader runs on")
                standin.proc.wait(timeout=10)
    finally:
        rc = reader.stop()
        if standin and standin.proc.poll() is None:
            standin.kill()
        if bus_pid:
            os.kill(bus_pid, signal.SIGTERM)
    check(rc == 0, "mm_read stops on SIGTERM")
    lost = [l for l in reader.stderr if "no system bus" in l]
    check(len(lost) == 2, "one line when there is no bus, one when it goes")


def control(mm_ctl, env, args, stdin=""):
    """One mm_ctl run: its JSON answer, and all it wrote (stdout and its log)."""
    t0 = time.monotonic()
    p = subprocess.run([mm_ctl] + args, env=env, input=stdin, capture_output=True, text=True,
                       timeout=30)
    say(f"figure: mm_ctl {' '.join(args)}: {(time.monotonic() - t0) * 1000:.0f} ms")
    for line in p.stderr.splitlines():
        say("  mm_ctl: " + line)
    check(p.returncode == 0 and not any("Sanitizer" in l or "runtime error" in l
                                        for l in p.stderr.splitlines()), "mm_ctl ran")
    return json.loads(p.stdout), p.stdout + p.stderr


def controls(mm_ctl, tmp):
    """Reset, the PIN and connect, from another thread than the watch's, to the stand-in."""
    address, bus_pid = start_bus(tmp)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    standin = StandIn(dbus.bus.BusConnection(address), env)
    try:
        standin.start()
        standin.add_modem()
        modem, sim = standin.mock(MODEM), standin.mock(SIM)
        r, _ = control(mm_ctl, env, ["wwan0", "reset"])
        check(r["rc"] == 0 and len(modem.GetMethodCalls("Reset")) == 1, "reset: Modem.Reset called")

        r, out = control(mm_ctl, env, ["wwan0", "pin"], WRONG_PIN + "\n")
        calls = sim.GetMethodCalls("SendPin")
        check([str(c[1][0]) for c in calls] == [WRONG_PIN], "a wrong PIN went to Sim.SendPin")
        check(r["rc"] == -5 and "Incorrect password" in r["msg"], "a wrong PIN: refused, "
              f"ModemManager's reason told ({r['msg']})")
        check(r["retries"] == 2, "a wrong PIN: 2 attempts left, told (the count after it, "
              "though the stand-in's PropertiesChanged comes 300 ms after its answer)")
        check(WRONG_PIN not in out, "the wrong PIN nowhere in the output or the log")
        r, out = control(mm_ctl, env, ["wwan0", "pin"], WRONG_PIN + "\n")
        check(r["rc"] == -5 and r["retries"] == 1, "a second wrong PIN: 1 attempt left, told")
        r, out = control(mm_ctl, env, ["wwan0", "pin"], GOOD_PIN + "\n")
        check(r["rc"] == 0 and str(sim.GetMethodCalls("SendPin")[-1][1][0]) == GOOD_PIN,
              "the right PIN taken")
        check(GOOD_PIN not in out, "the PIN nowhere in the output or the log")
        r, out = control(mm_ctl, env, ["wwan0", "pin"], "12a4\n")
        check(r["rc"] == -22 and len(sim.GetMethodCalls("SendPin")) == 3 and "12a4" not in out,
              "a PIN not of 4 to 8 digits: refused before it goes anywhere, not echoed")

        r, _ = control(mm_ctl, env, ["wwan0", "connect", "internet.example"])
        calls = modem.GetMethodCalls("Connect")
        check(r["rc"] == 0 and len(calls) == 1 and
              str(calls[0][1][0].get("apn")) == "internet.example",
              "connect: Simple.Connect called with the APN")
        r, _ = control(mm_ctl, env, ["eth0", "reset"])
        check(r["rc"] == -19, "an interface no modem has: ENODEV")
        standin.slow_reset(1.0)
        resets = len(modem.GetMethodCalls("Reset"))
        r, _ = control(mm_ctl, env, ["wwan0", "twice"])
        check(r["rc"] == -16 and r["msg"].startswith("busy: ") and "reset" in r["msg"],
              f"a reset while one is under way: EBUSY, said ({r['msg']})")
        check(r["first"] == 0 and r["third"] == 0 and
              len(modem.GetMethodCalls("Reset")) == resets + 2,
              "the first reset went through, the busy one never reached the bus, the next one did")
        r, _ = control(mm_ctl, env, ["wwan0", "connect", "bad apn"])
        check(r["rc"] == -22 and len(modem.GetMethodCalls("Connect")) == 1,
              "an APN not valid: refused here")
        standin.kill()
        r, _ = control(mm_ctl, env, ["wwan0", "reset"])
        check(r["rc"] == -19 and "ModemManager" in r["msg"], "no ModemManager: ENODEV, said")
    finally:
        if standin.proc and standin.proc.poll() is None:
            standin.kill()
        os.kill(bus_pid, signal.SIGTERM)


def qmimux(mm_read, tmp):
    """QMI multiplexing: the uplink is no port of the modem's but its bearer's Interface."""
    global BEARER_IFACE
    address, bus_pid = start_bus(tmp)
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    bus = dbus.bus.BusConnection(address)
    standin = StandIn(bus, env)
    reader = Reader([mm_read, "qmimux0", "rmnet_data0"], env)
    BEARER_IFACE = "qmimux0"
    try:
        standin.start()
        t0 = time.monotonic()
        standin.add_modem()
        _, r = reader.radio("qmimux0", lambda o: o["present"], "qmimux0's modem (by its bearer)")
        say(f"figure: a modem by its bearer's interface: seen in "
            f"{(time.monotonic() - t0) * 1000:.1f} ms")
        check(r["model"] == "EM12-G" and r["tech"] == "LTE",
              "qmimux0 (the bearer's Interface; the modem's net port is wwan0): its modem read")
        bearer = dbus.Interface(bus.get_object(MM, BEARER), dbus.PROPERTIES_IFACE)
        bearer.Set(I_BEARER, "Interface", dbus.String("rmnet_data0"))
        moved = {}  # each interface's last line, in whichever order they come

        def both(o):
            moved[o.get("ifname")] = o.get("present")
            return moved.get("rmnet_data0") is True and moved.get("qmimux0") is False
        reader.wait(both, "rmnet_data0's modem, qmimux0 no modem's after the move")
        check(True, "the bearer's Interface changed to rmnet_data0: the modem follows it")
    finally:
        BEARER_IFACE = None
        rc = reader.stop()
        if standin.proc and standin.proc.poll() is None:
            standin.kill()
        os.kill(bus_pid, signal.SIGTERM)
    check(rc == 0, "mm_read stops on SIGTERM")


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: test_modem.py MM_READ MM_CTL\n")
        return 2
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mps-modem-") as tmp:
        try:
            os.mkdir(os.path.join(tmp, "a"))
            os.mkdir(os.path.join(tmp, "b"))
            os.mkdir(os.path.join(tmp, "c"))
            os.mkdir(os.path.join(tmp, "d"))
            controls(sys.argv[2], os.path.join(tmp, "c"))
            qmimux(sys.argv[1], os.path.join(tmp, "d"))
            bus_comes_and_goes(sys.argv[1], os.path.join(tmp, "a"))
            run(sys.argv[1], os.path.join(tmp, "b"))
        except Failed as e:
            say(f"FAILED: {e}")
            return 1
    say(f"passed in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
