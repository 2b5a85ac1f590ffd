"""fuzz_decoders: coverage-guided fuzzing (atheris, libFuzzer) of the two device decoders with what arrives from the
wire, FUZZ_FRAMES inputs each (default 1,000,000): the JT/T 808 stream cutter, frame decoder, every message parser
and the sub-package reassembler; the HJ 212 stream splitter, frame and segment parser, the header peek, the answers
built from what was read and the packet → reading step. Only the codec's own FrameError may come out; anything else
is counted as a crash, its input kept under bench/results/fuzz_crashes/ and reported (the job fails).

Seeds: the 112 captured JT/T 808 frames of tests/data/jt808_frames.tsv plus encoded 2013/2019/sub-package frames,
and HJ 212 frames of every command a station sends; libFuzzer mutates them and also grows inputs from random bytes.
Outside CI's time budget: run it as a benchmark (python bench/run.py fuzz_decoders, or with FUZZ_FRAMES=20000 to
check quickly; FUZZ_SECONDS bounds the time). Each decoder runs in a child process (libFuzzer ends its process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_result  # noqa: E402

FRAMES = int(os.environ.get("FUZZ_FRAMES", 1_000_000))
SECONDS = int(os.environ.get("FUZZ_SECONDS", 0))  # a time budget per decoder (0: none); the result says if it ran out
# Coverage guidance for the framing, header and segment code; instrumenting every parser too (e.g.
# FUZZ_INSTRUMENT=cityloop.fleet.jt808,cityloop.fleet.jt808_messages,cityloop.sensors.hj212,cityloop.sensors.readings)
# finds the same paths more slowly: about 15 times fewer inputs a second.
INSTRUMENT = os.environ.get("FUZZ_INSTRUMENT", "cityloop.fleet.jt808,cityloop.sensors.hj212").split(",")
ROOT = Path(__file__).resolve().parents[1]
CRASHES = RESULTS / "fuzz_crashes"
MAX_LEN = {"jt808": 3000, "hj212": 10_100}


# --- seeds ----------------------------------------------------------------------------------------------------------

def jt808_seeds() -> list[bytes]:
    from cityloop.fleet import jt808 as j

    rows = [line.split("\t") for line in (ROOT / "tests/data/jt808_frames.tsv").read_text().splitlines()
            if line and not line.startswith("#")]
    seeds = [bytes.fromhex(hx) for _, hx, _ in rows]
    when = datetime(2026, 11, 24, 2, 0, tzinfo=j.BEIJING)
    loc = j.encode_location(j.Location.make(118.43, 32.45, 30, 90, when, altitude=40000, extras=[(0x01, b"\0\0\0\1")]))
    reg = j.Registration(34, 1122, "CLOOP", "SIM-808", "T0000001", 2, "皖MA0001")
    for version, phone in ((None, "013800138000"), (1, "00000000013800138000")):
        is_2019 = version is not None
        seeds += [j.encode_frame(j.LOCATION, phone, 1, loc, version=version),
                  j.encode_frame(j.REGISTER, phone, 2, j.encode_register(reg, is_2019), version=version),
                  j.encode_frame(j.AUTHENTICATE, phone, 3, j.encode_auth("code", is_2019, "8600"), version=version),
                  j.encode_frame(j.BATCH, phone, 4, j.encode_batch(1, [loc, loc]), version=version),
                  j.encode_frame(j.BATCH, phone, 5, loc, version=version, total=2, index=1),
                  j.encode_frame(j.TERMINAL_RESPONSE, phone, 6, j.encode_general_response(9, 0x8103, 0),
                                 version=version)]
    return seeds


def hj212_seeds() -> list[bytes]:
    from cityloop.sensors import hj212

    head = "QN=20261123090000123;ST={st};CN={cn};PW=123456;MN=LADU341122000001;Flag={flag};"
    cps = {"2011": "DataTime=20261123090000;a34002-Rtd=80.5,a34002-Flag=N;a34004-Rtd=35.2,a34004-Flag=N;LA-Rtd=57.9",
           "2051": "DataTime=20261123090000;a34002-Avg=80.5,a34002-Min=70,a34002-Max=90,a34002-Flag=N",
           "2061": "DataTime=20261123090000;a34002-Avg=80.5,a34002-Cou=12.5,a34002-Flag=C",
           "2031": "DataTime=20261123000000;a01001-Avg=12.5,a01001-Flag=N",
           "2081": "DataTime=20261123090000;RestartTime=20261123085930",
           "2021": "DataTime=20261123090000;SB1-RS=1", "2041": "DataTime=20261123000000;SB1-RT=23.5",
           "3020": "DataTime=20261123090000;PolId=a34002;i12001-Info=1", "9011": "QnRtn=1", "9012": "ExeRtn=1",
           "9014": ""}
    seeds = [hj212.frame(head.format(st=st, cn=cn, flag=flag) + f"CP=&&{cp}&&")
             for cn, cp in cps.items() for st, flag in (("22", 5), ("101", 4))]
    seeds.append(hj212.frame("ST=32;CN=2011;PW=123456;MN=OLD1;Flag=1;PNUM=2;PNO=1;CP=&&DataTime=20261123090000;"
                             "B03-Rtd=55.1&&"))
    seeds.append(b"##" + seeds[0] + seeds[1][:40])  # junk, a frame, a cut one
    return seeds


# --- targets: what the gateway and the listener do with bytes from the wire -----------------------------------------

def jt808_target():
    from cityloop.fleet import jt808 as j

    def one(data: bytes) -> None:
        asm = j.Reassembler(max_pending=2)
        for part in j.FrameBuffer(max_frame=2048).feed(data):
            try:
                frame = j.decode_frame(part)
            except j.FrameError:
                continue
            body, h = frame.body, frame.header
            _ = h.terminal_key
            if h.total:
                asm.add(h, body, 0.0)
            j.location_fix(body)
            for parse in (j.decode_location, j.decode_general_response, j.decode_register_response,
                          lambda b: j.decode_register(b, False), lambda b: j.decode_register(b, True),
                          lambda b: j.decode_auth(b, False), lambda b: j.decode_auth(b, True)):
                try:
                    parse(body)
                except j.FrameError:
                    pass
            try:
                _, items = j.decode_batch(body)
            except j.FrameError:
                items = []
            for item in items:
                j.location_fix(item)
                try:
                    j.decode_location(item).time  # noqa: B018 - the time property decodes BCD
                except j.FrameError:
                    pass

    return one, j.FrameError


def hj212_target():
    from zoneinfo import ZoneInfo

    from cityloop.sensors import hj212
    from cityloop.sensors.readings import DeviceRef, from_packet

    tz, ref = ZoneInfo("Asia/Shanghai"), DeviceRef(1, "DU-1", "dust", True)
    now = datetime(2026, 11, 23, 1, 0).timestamp()

    def one(data: bytes) -> None:
        for item in hj212.FrameReader().feed(data):
            if isinstance(item, hj212.FrameError):
                continue
            try:
                packet = hj212.decode(item)
            except hj212.FrameError as exc:
                fields = hj212.peek(item)
                if fields.get("MN") and hj212.wants_answer(fields):
                    hj212.request_answer(fields, hj212.error_rtn(exc.code))
                continue
            hj212.request_answer(hj212.header_fields(packet), 4)
            hj212.data_answer(packet)
            hj212.event_values(packet)
            if packet.cn in hj212.INTERVALS:
                from_packet(packet, ref, now, tz, 600.0, 90 * 86400.0)

    return one, hj212.FrameError


TARGETS = {"jt808": (jt808_target, jt808_seeds), "hj212": (hj212_target, hj212_seeds)}


def child(name: str, runs: int, out: str) -> None:
    """Fuzz one decoder for `runs` inputs (libFuzzer ends the process without Python's exit handlers, so the stats
    are written every few thousand inputs and at the last one)."""
    import atheris

    with atheris.instrument_imports(include=INSTRUMENT):
        one, allowed = TARGETS[name][0]()
    stats = {"frames": 0, "crashes": {}, "started": time.perf_counter()}

    def report() -> None:
        seconds = time.perf_counter() - stats["started"]
        Path(out).write_text(json.dumps({"frames": stats["frames"], "seconds": round(seconds, 3),
                                         "crashes": stats["crashes"]}))

    def test(data: bytes) -> None:
        stats["frames"] += 1
        if stats["frames"] % 1000 == 0 or stats["frames"] >= runs:
            report()
        try:
            one(data)
        except allowed:
            pass  # documented: only FrameError may escape
        except Exception as exc:  # noqa: BLE001 - counted and kept, the run goes on
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            if key not in stats["crashes"]:
                CRASHES.mkdir(parents=True, exist_ok=True)
                path = CRASHES / f"{name}-{len(stats['crashes']) + 1}.bin"
                path.write_bytes(data)
                stats["crashes"][key] = {"message": str(exc)[:200], "input": str(path.relative_to(ROOT)), "count": 0}
            stats["crashes"][key]["count"] += 1
            report()

    corpus = tempfile.mkdtemp(prefix=f"fuzz-{name}-")
    for i, seed in enumerate(TARGETS[name][1]()):
        Path(corpus, f"seed{i:03d}").write_bytes(seed)
    budget = [f"-max_total_time={SECONDS}"] if SECONDS else []
    atheris.Setup([sys.argv[0], f"-runs={runs}", f"-max_len={MAX_LEN[name]}", "-seed=1", "-print_final_stats=1",
                   "-timeout=10", *budget, corpus], test)
    atheris.Fuzz()


def main() -> int:
    params: dict = {"frames_per_decoder": FRAMES, "seconds_budget": SECONDS or None, "instrumented": INSTRUMENT}
    total_frames = total_seconds = crashes = 0
    RESULTS.mkdir(exist_ok=True)
    work = Path(tempfile.gettempdir())
    children = {}
    for name in TARGETS:  # side by side: one core each
        out, log = work / f"cityloop_fuzz_{name}.json", work / f"cityloop_fuzz_{name}.log"  # log: libFuzzer's output
        out.unlink(missing_ok=True)
        with open(log, "w") as err:
            children[name] = (subprocess.Popen([sys.executable, __file__, "--child", name, str(FRAMES), str(out)],
                                               stdout=err, stderr=subprocess.STDOUT, cwd=ROOT), out)
    for name, (proc, out) in children.items():
        code = proc.wait()
        got = json.loads(out.read_text()) if out.exists() else {"frames": 0, "seconds": 0, "crashes": {"no result": {}}}
        rate = got["frames"] / got["seconds"] if got["seconds"] else 0.0
        params[name] = {"frames": got["frames"], "complete": got["frames"] >= FRAMES, "seconds": got["seconds"],
                        "frames_per_s": round(rate, 1), "exit_code": code, "exceptions": got["crashes"]}
        total_frames += got["frames"]
        total_seconds = max(total_seconds, got["seconds"])
        crashes += len(got["crashes"])
        print(f"{name}: {got['frames']} frames in {got['seconds']} s, {len(got['crashes'])} kinds of exception",
              flush=True)
    params["exceptions_other_than_frame_error"] = crashes
    params["note"] = "atheris (libFuzzer, coverage-guided), the two decoders side by side; 2 shared cores"
    write_result("fuzz_decoders", "frames/s", total_frames / total_seconds if total_seconds else 0.0, True,
                 "exceptions other than FrameError (must be 0)", crashes, params, "none")
    return 1 if crashes else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit(main())
