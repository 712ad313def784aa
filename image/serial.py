#!/usr/bin/env python3
"""Drives the appliance's serial console for image/test-image.sh, as an operator at the
local console would: waits for what the console prints, then types.

    serial.py SOCKET SECONDS  EXPECT SEND  [EXPECT SEND ...]

EXPECT is a regular expression the console must print (after what was typed last) within
SECONDS; an empty EXPECT matches at once. SEND is typed followed by Enter; "-" types
nothing. After a last SEND, the console's answer (its echo) is awaited before the socket
closes: qemu drops what it has not yet passed to the guest's UART when the socket closes,
and under TCG that can be the Enter (test:image's `poweroff` once stood typed, never run). What the console printed is echoed to stderr as it comes, so the test's log shows
the session. Exit 1, naming what was awaited, when it does not come in time.
"""
import re
import socket
import sys
import time


def await_answer(sock: socket.socket, seconds: float) -> bool:
    """True once the console prints a line end after what was typed last (or closes)."""
    deadline = time.monotonic() + seconds
    seen = ""
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        if not data:
            return True
        text = data.decode("utf-8", "replace")
        sys.stderr.write(text)
        seen += text
        if "\n" in seen:
            return True
    return False


def main() -> int:
    path, seconds, steps = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    if len(steps) % 2:
        print("serial.py: EXPECT and SEND come in pairs", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(path)
    sock.settimeout(1.0)
    seen = ""
    for expect, send in zip(steps[0::2], steps[1::2]):
        deadline = time.monotonic() + seconds
        while not re.search(expect, seen):
            if time.monotonic() > deadline:
                print(f"\nserial.py: no {expect!r} on the console within {seconds:.0f} s", file=sys.stderr)
                return 1
            try:
                data = sock.recv(4096)
            except socket.timeout:
                continue
            if not data:
                print("\nserial.py: the console closed", file=sys.stderr)
                return 1
            text = data.decode("utf-8", "replace")
            sys.stderr.write(text)
            seen += text
        # What was matched is consumed: the next EXPECT must come after this SEND.
        seen = ""
        if send != "-":
            sock.sendall((send + "\r").encode())
    if steps and steps[-1] != "-" and not await_answer(sock, seconds):
        print(f"\nserial.py: the console did not answer {steps[-1]!r} within {seconds:.0f} s", file=sys.stderr)
        return 1
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
