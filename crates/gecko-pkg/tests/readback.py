#!/usr/bin/env python3
"""Reads a macOS product archive (.pkg) with code independent of the Rust
writer (embala-pkg / apple-xar / apple-codesign): only the Python standard
library (struct, zlib, gzip, hashlib, xml.etree).

usage: readback.py PKG OUTDIR
Prints a JSON report on stdout and extracts into OUTDIR:
  xar/<path>                     every archived file, decoded
  payload/<component>/<path>     every file of each component's cpio Payload
  scripts/<component>/<path>     every file of each component's Scripts archive
  sig/toc_digest.bin, sig/rsa.sig, sig/cms.der, sig/cert<N>.der
Exits 1 with a message on any structural error (bad magic, checksum mismatch).
"""
import base64
import gzip
import hashlib
import json
import os
import struct
import sys
import xml.etree.ElementTree as ET
import zlib


def fail(msg):
    print("readback: " + msg, file=sys.stderr)
    sys.exit(1)


def local(tag):
    return tag.rsplit("}", 1)[-1]


def child(el, name):
    for c in el:
        if local(c.tag) == name:
            return c
    return None


def text(el, name):
    c = child(el, name)
    return None if c is None else (c.text or "")


HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512, "md5": hashlib.md5}


def read_xar(data):
    if data[:4] != b"xar!":
        fail("not a xar archive (magic %r)" % data[:4])
    hsize, version, toc_c, toc_u, alg = struct.unpack(">HHQQI", data[4:28])
    toc_z = data[hsize:hsize + toc_c]
    toc_xml = zlib.decompress(toc_z)
    if len(toc_xml) != toc_u:
        fail("TOC length %d, header says %d" % (len(toc_xml), toc_u))
    heap = data[hsize + toc_c:]
    root = ET.fromstring(toc_xml)
    toc = child(root, "toc")
    ck = child(toc, "checksum")
    style = ck.get("style")
    off, size = int(text(ck, "offset")), int(text(ck, "size"))
    digest = HASHES[style](toc_z).digest()
    if heap[off:off + size] != digest:
        fail("TOC checksum mismatch")
    sigs = {}
    for tag in ("signature", "x-signature"):
        s = child(toc, tag)
        if s is None:
            continue
        certs = [base64.b64decode("".join((e.text or "").split()))
                 for e in s.iter() if local(e.tag) == "X509Certificate"]
        so, ss = int(text(s, "offset")), int(text(s, "size"))
        sigs[s.get("style")] = {"offset": so, "size": ss, "data": heap[so:so + ss], "certs": certs}
    files = []

    def walk(el, prefix):
        for f in el:
            if local(f.tag) != "file":
                continue
            name = text(f, "name")
            path = prefix + name
            entry = {"path": path, "type": text(f, "type"), "mode": text(f, "mode")}
            d = child(f, "data")
            if d is not None:
                o, ln, sz = int(text(d, "offset")), int(text(d, "length")), int(text(d, "size"))
                raw = heap[o:o + ln]
                arch = child(d, "archived-checksum")
                ext = child(d, "extracted-checksum")
                if HASHES[arch.get("style")](raw).hexdigest() != (arch.text or "").strip():
                    fail("archived checksum mismatch: " + path)
                enc = child(d, "encoding").get("style")
                content = zlib.decompress(raw) if enc == "application/x-gzip" else raw
                if len(content) != sz:
                    fail("size mismatch: " + path)
                if HASHES[ext.get("style")](content).hexdigest() != (ext.text or "").strip():
                    fail("extracted checksum mismatch: " + path)
                entry["content"] = content
                entry["encoding"] = enc
            files.append(entry)
            walk(f, path + "/")

    walk(toc, "")
    return {"header": {"size": hsize, "version": version, "checksum_alg": alg},
            "toc_checksum": {"style": style, "digest": digest}, "signatures": sigs, "files": files}


def read_odc_cpio(data):
    entries = []
    pos = 0
    while True:
        h = data[pos:pos + 76]
        if h[:6] != b"070707":
            fail("bad cpio magic at %d" % pos)
        f = [int(h[i:j], 8) for i, j in ((6, 12), (12, 18), (18, 24), (24, 30), (30, 36), (36, 42),
                                         (42, 48), (48, 59), (59, 65), (65, 76))]
        dev, ino, mode, uid, gid, nlink, rdev, mtime, namesize, filesize = f
        name = data[pos + 76:pos + 76 + namesize - 1].decode()
        body = data[pos + 76 + namesize:pos + 76 + namesize + filesize]
        pos += 76 + namesize + filesize
        if name == "TRAILER!!!":
            return entries
        entries.append({"path": name, "mode": mode, "uid": uid, "gid": gid, "size": filesize,
                        "data": body})


def read_bom(data):
    if data[:8] != b"BOMStore":
        fail("not a BOM")
    _ver, nblocks, idx_off, _idx_len, vars_off, _vars_len = struct.unpack(">IIIIII", data[8:32])
    count = struct.unpack(">I", data[idx_off:idx_off + 4])[0]
    blocks = [struct.unpack(">II", data[idx_off + 4 + 8 * i:idx_off + 12 + 8 * i]) for i in range(count)]

    def block(i):
        a, ln = blocks[i]
        return data[a:a + ln]

    nvars = struct.unpack(">I", data[vars_off:vars_off + 4])[0]
    pos = vars_off + 4
    variables = {}
    for _ in range(nvars):
        idx, ln = struct.unpack(">IB", data[pos:pos + 5])
        variables[data[pos + 5:pos + 5 + ln].decode()] = idx
        pos += 5 + ln
    tree = block(variables["Paths"])
    if tree[:4] != b"tree":
        fail("BOM Paths is not a tree")
    node_idx = struct.unpack(">I", tree[8:12])[0]
    node = block(node_idx)
    # Descend to the leftmost leaf, then follow the forward links.
    while struct.unpack(">H", node[0:2])[0] == 0:
        node = block(struct.unpack(">I", node[12:16])[0])
    names = {}
    infos = {}
    while True:
        is_leaf, n, fwd, _back = struct.unpack(">HHII", node[:12])
        for k in range(n):
            i0, i1 = struct.unpack(">II", node[12 + 8 * k:20 + 8 * k])
            pid, info_idx = struct.unpack(">II", block(i0)[:8])
            f = block(i1)
            parent = struct.unpack(">I", f[:4])[0]
            name = f[4:].split(b"\0", 1)[0].decode()
            names[pid] = (parent, name)
            t, _u, _arch, mode, user, group, mtime, size, _u1, cksum = struct.unpack(">BBHHIIIIBI", block(info_idx)[:27])
            infos[pid] = {"type": t, "mode": mode, "uid": user, "gid": group, "size": size, "crc": cksum}
        if fwd == 0:
            break
        node = block(fwd)

    def full(pid):
        parent, name = names[pid]
        return name if parent == 0 else full(parent) + "/" + name

    return sorted(({"path": full(pid), **infos[pid]} for pid in names), key=lambda e: e["path"])


def main():
    pkg, out = sys.argv[1], sys.argv[2]
    x = read_xar(open(pkg, "rb").read())
    report = {"header": x["header"], "toc_checksum_style": x["toc_checksum"]["style"],
              "xar": [], "components": {}, "signatures": {}}
    os.makedirs(os.path.join(out, "sig"), exist_ok=True)
    open(os.path.join(out, "sig", "toc_digest.bin"), "wb").write(x["toc_checksum"]["digest"])
    for style, s in x["signatures"].items():
        name = {"RSA": "rsa.sig", "CMS": "cms.der"}.get(style, style + ".bin")
        open(os.path.join(out, "sig", name), "wb").write(s["data"])
        for n, c in enumerate(s["certs"]):
            open(os.path.join(out, "sig", "%s-cert%d.der" % (style, n)), "wb").write(c)
        report["signatures"][style] = {"offset": s["offset"], "size": s["size"], "certs": len(s["certs"])}
    for f in x["files"]:
        report["xar"].append({"path": f["path"], "type": f["type"], "mode": f["mode"],
                              "encoding": f.get("encoding")})
        if "content" not in f:
            continue
        dst = os.path.join(out, "xar", f["path"])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        open(dst, "wb").write(f["content"])
        if "/" not in f["path"]:
            continue
        comp, part = f["path"].split("/", 1)
        c = report["components"].setdefault(comp, {})
        if part == "PackageInfo":
            c["package_info"] = f["content"].decode()
        elif part == "Bom":
            c["bom"] = read_bom(f["content"])
        elif part in ("Payload", "Scripts"):
            entries = read_odc_cpio(gzip.decompress(f["content"]))
            base = os.path.join(out, part.lower(), comp)
            for e in entries:
                if (e["mode"] & 0o170000) == 0o100000:
                    p = os.path.join(base, e["path"])
                    os.makedirs(os.path.dirname(p), exist_ok=True)
                    open(p, "wb").write(e.pop("data"))
                else:
                    e.pop("data")
            c[part.lower()] = entries
    dist = [f for f in x["files"] if f["path"] == "Distribution"]
    report["distribution"] = dist[0]["content"].decode() if dist else None
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
