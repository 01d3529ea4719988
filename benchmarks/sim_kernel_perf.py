"""Where the compiled solver kernel spends its time, by machine-code address (Linux perf).

perf sees Numba's compiled code only as anonymous addresses. This script runs the solver
workload of ``bench_sim.py`` (``--patients``, default 2,000, ``--calls`` times after a
warm-up) under ``perf record`` in a child process that also copies the machine code from
``kernel.advance``'s entry point (``--bytes``, covering the functions it calls, which
the cache places after it) to a file; the parent disassembles that copy with
``objdump`` and prints the hottest 512-byte ranges of it as shares of the samples in
compiled code, each with its instruction mix (scalar ``sd`` against vector ``pd``
arithmetic, calls). The disassembly, annotated with the samples per instruction, is
written to ``OUT/advance.dis`` for reading.

Usage: ``python benchmarks/sim_kernel_perf.py [--out DIR] [--patients N] [--calls K]``
(needs ``perf`` and ``objdump``; about 1 minute). Session 12 used it to find lane loops
that LLVM had unrolled into scalar code (docs/performance.md).
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(out: Path, n: int, calls: int, nbytes: int) -> None:
    """Warm up, copy ``advance``'s machine code and its address to ``out``, then run."""
    sys.path.insert(0, str(HERE))
    import bench_sim as b
    from remission.sim import kernel
    from remission.sim.solver import simulate_states

    p, s = b._patients(n)
    simulate_states(b._one(p, 0), s)
    simulate_states(p, s)
    cres = next(iter(kernel.advance.overloads.values()))
    addr = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
    (out / "advance.bin").write_bytes(ctypes.string_at(addr, nbytes))
    (out / "advance.addr").write_text(f"{addr:#x}\n")
    for _ in range(calls):
        simulate_states(p, s)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE.parent / "build" / "bench" / "kernel-perf")
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--calls", type=int, default=4)
    ap.add_argument("--bytes", type=int, default=90_000)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.child:
        child(a.out, a.patients, a.calls, a.bytes)
        return 0
    data = a.out / "perf.data"
    subprocess.run(["perf", "record", "-q", "-F", "4000", "-o", str(data), sys.executable,
                    str(Path(__file__).resolve()), "--child", "--out", str(a.out),
                    "--patients", str(a.patients), "--calls", str(a.calls),
                    "--bytes", str(a.bytes)], check=True)
    script = subprocess.run(["perf", "script", "-i", str(data), "-F", "ip,dso"],
                            capture_output=True, text=True, check=True).stdout
    base = int((a.out / "advance.addr").read_text(), 16)
    jit = [int(line.split()[0], 16) - base for line in script.splitlines()
           if "perf-" in line or "JIT" in line]
    inside = collections.Counter(o for o in jit if 0 <= o < a.bytes)
    dis = subprocess.run(["objdump", "-D", "-b", "binary", "-m", "i386:x86-64",
                          str(a.out / "advance.bin")], capture_output=True, text=True,
                         check=True).stdout
    ins = []
    for line in dis.splitlines():
        m = re.match(r"\s+([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*(\S.*)", line)
        if m:
            ins.append((int(m.group(1), 16), m.group(2)))
    (a.out / "advance.dis").write_text("".join(f"{off:6d} {inside.get(off, 0):5d}  {t}\n"
                                               for off, t in ins))
    total = max(len(jit), 1)
    print(f"{len(jit)} samples in compiled code, {sum(inside.values())} in the "
          f"{a.bytes:,} bytes from advance's entry point; hottest 512-byte ranges:")
    buckets = collections.Counter({k: 0 for k in range(a.bytes // 512 + 1)})
    for off, c in inside.items():
        buckets[off // 512] += c
    for k, c in buckets.most_common(20):
        text = [t for off, t in ins if k * 512 <= off < (k + 1) * 512]
        sd = sum(bool(re.search(r"\b\w+sd\b", t)) for t in text)
        pd = sum(bool(re.search(r"\b\w+pd\b", t)) for t in text)
        calls = sum(t.startswith("call") for t in text)
        print(f"  {k * 512:6d}-{k * 512 + 511:6d}  {100 * c / total:5.1f}%  scalar sd {sd:3d}, "
              f"vector pd {pd:3d}, calls {calls}")
    print(f"annotated disassembly: {a.out / 'advance.dis'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
