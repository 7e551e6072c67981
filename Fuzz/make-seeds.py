#!/usr/bin/env python3
"""Writes Fuzz/Corpus/<target>/ from the byte fixtures the unit tests already hold
(real Ceph 16.2.15 sessions, maps and replies) plus small hand-made inputs; qcow2 seeds
come from qemu-img when it is installed. Re-run after adding fixtures:
    python3 Fuzz/make-seeds.py
"""
import base64, os, re, shutil, struct, subprocess, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")
TESTS = os.path.join(ROOT, "Tests", "RADOSProtoTests")


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(TESTS, path)) as f:
        return f.read()


def server_stream(fixture):
    """The server's bytes after its banner, and each frame as (tag, segments)."""
    text = read(fixture)
    server = text[text.index("[server]"):]
    data = bytearray()
    for line in server.split("\n"):
        for token in line.split(" "):
            if len(token) % 2 or not re.fullmatch(r"[0-9a-fA-F]+", token or "x"):
                break
            data += bytes.fromhex(token)
    data = bytes(data[26:])  # banner: 8 + 2 + 16
    frames, offset = [], 0
    while offset + 32 <= len(data):
        tag, count = data[offset], data[offset + 1]
        lengths = [struct.unpack_from("<I", data, offset + 2 + 6 * i)[0] for i in range(4)][:count]
        offset += 32
        segments = [data[offset:offset + lengths[0]]]
        offset += lengths[0] + 4
        if count > 1:
            for length in lengths[1:]:
                segments.append(data[offset:offset + length])
                offset += length
            offset += 13
        frames.append((tag, segments))
    return data, frames


def secure_chunks(fixture):
    """The same frames laid out as msgr2.1 secure mode's plaintext blocks, each prefixed
    with its u16 length (the frame-secure target seals each chunk)."""
    _, frames = server_stream(fixture)
    raw = server_stream(fixture)[0]
    out, offset = bytearray(), 0
    for tag, segments in frames:
        preamble = raw[offset:offset + 32]
        seg0 = segments[0]
        first = preamble + seg0[:48] + bytes(max(0, 48 - len(seg0)))
        out += struct.pack("<H", len(first)) + first
        rest = bytearray()
        if len(seg0) > 48:
            tail = seg0[48:]
            rest += tail + bytes(-len(tail) % 16)
        if len(segments) > 1:
            for segment in segments[1:]:
                rest += segment + bytes(-len(segment) % 16)
            rest += bytes([0x0E]) + bytes(15)  # late status: complete
        if rest:
            out += struct.pack("<H", len(rest)) + rest
        offset += 32 + len(seg0) + 4
        if len(segments) > 1:
            offset += sum(len(s) for s in segments[1:]) + 13
    return bytes(out)


def base64_fixture(path, name):
    text = read(path)
    start = text.index("static let %s" % name)
    block = text[start:re.compile(r"\n\s*\]").search(text, start).start()]
    return base64.b64decode("".join(re.findall(r'"([A-Za-z0-9+/=]+)"', block)))


shutil.rmtree(CORPUS, ignore_errors=True)

# Frames: whole recorded server streams (crc), and the same frames in secure layout.
for fixture, name in [("Messenger/Fixtures/MonSessionCRC.swift", "mon-session"),
                      ("Messenger/Fixtures/OSDSessionCRC.swift", "osd-session")]:
    stream, frames = server_stream(fixture)
    write("frame-crc", name, stream)
    write("frame-secure", name, secure_chunks(fixture))
    for tag, segments in frames:
        if tag == 17 and len(segments) >= 2:
            header, front = segments[0], segments[1]
            kind = struct.unpack_from("<H", header, 16)[0]  # ceph_msg_header2: seq, tid, type
            if kind == 4:
                write("mon-map", name, front)
        if tag == 6:
            # AUTH_DONE: global_id u64, con_mode u32, auth payload; as an MAuthReply front.
            global_id = segments[0][:8]
            payload = segments[0][12:]
            write("auth-reply", name, struct.pack("<Ii", 2, 0) + global_id + payload + struct.pack("<I", 0))

# OSD op replies captured from a real OSD.
captured = read("Objecter/Ops/CapturedRepliesTests.swift")
for index, front in enumerate(re.findall(r'front: "([0-9a-f]+)"', captured)):
    write("osd-op-reply", "captured-%d" % index, bytes.fromhex(front))

# Maps made with osdmaptool and crushtool.
osdmap = base64_fixture("OSDMap/OSDMapFixtures.swift", "twelveOSDs")
write("osd-map", "twelve-osds", osdmap)
for name in ["straw2", "mixed"]:
    write("crush-map", name, base64_fixture("CRUSH/CRUSHFixtures.swift", name))
fsid = bytes(range(16))
write("osd-map-message", "one-full-map",
      fsid + struct.pack("<I", 0) + struct.pack("<II", 1, 5) + struct.pack("<I", len(osdmap)) + osdmap + struct.pack("<II", 5, 5))

# Text inputs.
write("conf-file", "cluster", b"""[global]
fsid = e3996386-7459-4402-b2d8-73baf830289b
mon_host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789] 10.0.0.2
auth_client_required = cephx
ms_client_mode = secure ; comment
[client.admin]
keyring = $cluster.$name.keyring
log file = "/var/log/ceph/$name.log"  # quoted
rbd_cache_writethrough_until_flush = true
""")
write("keyring", "admin", b"""[client.admin]
\tkey = AQCiTwxrRUWHIxAAAPUXlfv+1fXOXMYyU2Zcog==
\tcaps mon = "allow *"
\tcaps osd = "allow *"
[client.other]
key = AQDKTQxrWlBINRAAhz9Zyq4jBEYg/+HMWcYJMQ==
""")
for index, spec in enumerate([b"rbd:rbd/vm1", b"rbd:pool/ns/image@snap:id=admin:conf=/etc/ceph/ceph.conf",
                              b"rbd:data/disk\\:1:rbd_cache=true:mon_host=10.0.0.1\\:6789", b"pool/image@snap", b"image"]):
    write("image-spec", "spec-%d" % index, spec)

# qcow2 files: v3 with data, a zero cluster and a compressed cluster; v2 empty.
if shutil.which("qemu-img") and shutil.which("qemu-io"):
    with tempfile.TemporaryDirectory() as tmp:
        def make(name, args, io):
            path = os.path.join(tmp, name)
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2"] + args + [path, "1M"], check=True)
            for command in io:
                subprocess.run(["qemu-io", "-f", "qcow2", "-c", command, path], check=True, stdout=subprocess.DEVNULL)
            with open(path, "rb") as f:
                write("qcow2", name, f.read())
        make("v3-data", ["-o", "cluster_size=4096"], ["write -P 0x61 0 8k", "write -z 16k 4k", "write -c -P 0x62 64k 64k"])
        make("v2-empty", ["-o", "compat=0.10,cluster_size=512"], [])
else:
    print("make-seeds: qemu-img not installed; qcow2 seeds left out")
