"""Read a `lifeboat scan` report (docs/scan-report.md) and compare it with a fixture's
expect.json. compare() raises AssertionError naming the first difference."""
import re


def unescape(v):
    if v == "-":
        return ""
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  v.encode("latin-1")).decode("utf-8", "replace")


def unescape_bytes(v):
    """A report value's exact bytes (escape_value undone)."""
    if v == "-":
        return b""
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), v.encode("latin-1"))


def json_bytes(obj, key):
    """A value's exact bytes from `lifeboat scan --json` (docs/scan-report.md): KEY_hex when the
    value is not UTF-8, else the string itself."""
    if key + "_hex" in obj:
        return bytes.fromhex(obj[key + "_hex"])
    return None if obj.get(key) is None else obj[key].encode("utf-8")


def parse(text):
    recs = []
    for line in text.splitlines():
        words = line.strip().split()
        if not words or "=" in words[0] or not re.match(r"^[a-z]+$", words[0]):
            continue
        rec = {"kind": words[0]}
        for w in words[1:]:
            if "=" in w:
                k, v = w.split("=", 1)
                rec[k] = unescape(v)
        recs.append(rec)
    return recs


def kind(recs, k, **match):
    return [r for r in recs if r["kind"] == k and all(r.get(a) == b for a, b in match.items())]


def _s(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


def _eq(what, got, want):
    assert got == want, f"{what}: got {got!r}, expected {want!r}"


def compare(recs, expect, disk):
    """Check every system of one fixture (attached as /dev/<disk>) against the report."""
    def dev(ref):
        if ref is None:
            return ""
        return f"/dev/{disk}{ref['partition']}" if ref.get("partition") else f"/dev/{disk}"

    for d in expect["devices"]:
        path = dev(d)
        got = kind(recs, "device", path=path)
        assert got, f"device {path} missing from the report"
        for k in ("type", "uuid", "label", "partuuid", "partlabel"):
            _eq(f"{path} {k}", got[0].get(k), _s(d.get(k)))
    mine = [s for s in kind(recs, "system")
            if any(s.get("nix") == dev(d) for d in expect["devices"])]
    _eq(f"systems found on {disk}", len(mine), len(expect["systems"]))
    for want in expect["systems"]:
        got = [s for s in mine if s.get("host") == want["host"]]
        assert got, f"system {want['host']} not found (found {[s.get('host') for s in mine]})"
        s = got[0]
        sid = s["id"]
        for k in ("version", "layout", "current", "rootsubvol", "nixsubvol", "nixprefix"):
            _eq(f"{want['host']} {k}", s.get(k), _s(want.get(k)))
        for k in ("root", "nix", "esp"):
            _eq(f"{want['host']} {k}", s.get(k), dev(want.get(k)))
        _eq(f"{want['host']} generations", s.get("generations"), str(len(want["generation_numbers"])))
        gens = kind(recs, "generation", system=sid)
        for g in want["generations"]:
            for spec in [None] + g.get("specialisations", []):
                w = dict(g, **spec) if spec else g
                name = spec["name"] if spec else ""
                got = [r for r in gens if r["profile"] == g["profile"] and r["number"] == str(g["number"])
                       and r["specialisation"] == name]
                what = f"{want['host']} {g['profile']} generation {g['number']} {name}"
                assert len(got) == 1, f"{what}: {len(got)} records"
                r = got[0]
                for k in ("status", "version", "toplevel", "kernel", "initrd", "init", "params",
                          "bootspec", "label", "current", "date", "secrets"):
                    if k in w:
                        _eq(f"{what} {k}", r.get(k), _s(w[k]))
                assert r.get("reason", "").startswith(_s(w.get("reason"))), \
                    f"{what} reason: got {r.get('reason')!r}, expected {w.get('reason')!r}"
            specs = sorted(r["specialisation"] for r in gens if r["profile"] == g["profile"]
                           and r["number"] == str(g["number"]) and r["specialisation"])
            _eq(f"{want['host']} generation {g['number']} specialisations", specs,
                sorted(x["name"] for x in g.get("specialisations", [])))
        mounts = kind(recs, "mount", system=sid)
        _eq(f"{want['host']} mount count", len(mounts), len(want["mounts"]))
        for m in want["mounts"]:
            got = [r for r in mounts if r["target"] == m["target"] and r["spec"] == m["spec"]]
            assert got, f"{want['host']} mount {m['target']} missing"
            for k in ("type", "options", "status", "subvol"):
                _eq(f"{want['host']} mount {m['target']} {k}", got[0].get(k), _s(m.get(k)))
            if m.get("status") == "ok" and m.get("partition"):
                _eq(f"{want['host']} mount {m['target']} source", got[0].get("source"),
                    f"/dev/{disk}{m['partition']}")
