#!/usr/bin/env python3
"""Adds a transformative item property (irot rotation or imir mirroring) to the primary image of a
HEIF file made by heif-enc, as iPhones write them: python3 heif_add_transform.py IN OUT irot|imir VALUE
(irot VALUE: quarter turns anticlockwise; imir VALUE: axis). Used by make_phone_fixtures.sh, since
Debian 12's heif-enc cannot write these properties."""
import struct, sys

def boxes(b, start, end):
    p = start
    while p + 8 <= end:
        size, typ = struct.unpack(">I4s", b[p:p+8])
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", b[p+8:p+16])[0]; hdr = 16
        elif size == 0:
            size = end - p
        yield typ, p, hdr, size
        p += size

def add_transform(src, prop):
    """Appends an item property (e.g. irot/imir, 9 bytes) to ipco, associates it with the primary
    item in ipma, fixes the sizes of meta/iprp/ipco/ipma and shifts the iloc offsets into mdat."""
    b = bytearray(src)
    meta = next((p, h, s) for t, p, h, s in boxes(b, 0, len(b)) if t == b"meta")
    mp, mh, ms = meta
    inner = mp + mh + 4  # FullBox
    kids = {t: (p, h, s) for t, p, h, s in boxes(b, inner, mp + ms)}
    pitm = kids[b"pitm"]
    pv = b[pitm[0] + 8]
    primary = struct.unpack(">H" if pv == 0 else ">I", b[pitm[0]+12:pitm[0]+12+(2 if pv == 0 else 4)])[0]
    ip, ih, isz = kids[b"iprp"]
    ik = {t: (p, h, s) for t, p, h, s in boxes(b, ip + ih, ip + isz)}
    cp, ch, cs = ik[b"ipco"]
    nprops = sum(1 for _ in boxes(b, cp + ch, cp + cs))
    new_index = nprops + 1
    ap, ah, asz = ik[b"ipma"]
    ver, flags = b[ap+8], int.from_bytes(b[ap+9:ap+12], "big")
    q = ap + 12
    count = struct.unpack(">I", b[q:q+4])[0]; q += 4
    insert_at = None; grow = 1 if not flags & 1 else 2
    for _ in range(count):
        if ver < 1:
            item = struct.unpack(">H", b[q:q+2])[0]; q += 2
        else:
            item = struct.unpack(">I", b[q:q+4])[0]; q += 4
        n_pos = q; n = b[q]; q += 1
        q += n * grow
        if item == primary:
            insert_at = (n_pos, q)
    assert insert_at
    n_pos, end_assoc = insert_at
    assoc = bytes([0x80 | new_index]) if grow == 1 else struct.pack(">H", 0x8000 | new_index)
    delta = len(prop) + len(assoc)
    # rebuild: insert association first (later in the file), then the property at the end of ipco
    b[end_assoc:end_assoc] = assoc
    b[n_pos] += 1
    struct.pack_into(">I", b, ap, asz + len(assoc))
    ipco_end = cp + cs
    b[ipco_end:ipco_end] = prop
    struct.pack_into(">I", b, cp, cs + len(prop))
    struct.pack_into(">I", b, ip, isz + delta)
    struct.pack_into(">I", b, mp, ms + delta)
    # iloc (before iprp in heif-enc's files: its position is unchanged)
    lp, lh, ls = kids[b"iloc"]
    assert lp < ip
    v = b[lp+8]; q = lp + 12
    os_, ls_ = b[q] >> 4, b[q] & 15; bs, xs = b[q+1] >> 4, b[q+1] & 15; q += 2
    cnt = struct.unpack(">H" if v < 2 else ">I", b[q:q+(2 if v < 2 else 4)])[0]; q += 2 if v < 2 else 4
    def rd(n, at): return int.from_bytes(b[at:at+n], "big") if n else 0
    def wr(n, at, val):
        if n: b[at:at+n] = val.to_bytes(n, "big")
    for _ in range(cnt):
        q += 2 if v < 2 else 4
        method = 0
        if v in (1, 2):
            method = struct.unpack(">H", b[q:q+2])[0] & 15; q += 2
        q += 2  # data_reference_index
        base_at = q; base = rd(bs, q); q += bs
        ext = struct.unpack(">H", b[q:q+2])[0]; q += 2
        for _ in range(ext):
            if v in (1, 2) and xs: q += xs
            off_at = q; off = rd(os_, q); q += os_
            q += ls_
            if method == 0 and bs == 0:
                wr(os_, off_at, off + delta)
        if method == 0 and bs:
            wr(bs, base_at, base + delta)
    return bytes(b)

if __name__ == "__main__":
    src = open(sys.argv[1], "rb").read()
    kind, val = sys.argv[3], int(sys.argv[4])
    prop = struct.pack(">I4sB", 9, kind.encode(), val)
    open(sys.argv[2], "wb").write(add_transform(src, prop))
