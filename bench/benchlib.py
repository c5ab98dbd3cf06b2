"""What the bench scripts share: a free loopback port, the load averages,
protobuf varints, and a marked block of results rewritten in place in a
markdown file."""

import os
import socket


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_averages():
    """The 1-, 5- and 15-minute load averages, as "0.52 0.91 1.30"."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def proc_status_kb(pid, key):
    """A `/proc/PID/status` field in kB (`VmRSS`, `VmHWM`; `Threads` is a
    count), or None when the process or the field is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(data, i):
    """The varint at `data[i:]`, and the index after it."""
    value, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def write_block(path, heading, begin, end, block):
    """Replaces the text between the `begin` and `end` markers of `path` with
    `block` (which carries the markers), or appends it under `heading`."""
    text = open(path).read() if os.path.exists(path) else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def stop_server(server, grace_secs=20):
    """SIGTERM, then SIGKILL if the server has not exited after `grace_secs`."""
    import signal
    import subprocess

    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=grace_secs)
    except subprocess.TimeoutExpired:
        server.kill()
