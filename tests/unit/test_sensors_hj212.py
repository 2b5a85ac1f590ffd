"""HJ 212 codec: the reference test vector, every field kind, a table of broken frames, answers, the stream
splitter, packets -> readings, and fuzzing (no input may raise anything but FrameError)."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityloop.sensors import hj212
from cityloop.sensors.readings import DeviceRef, Interval, Reading, Reject, from_packet

VECTOR = ("QN=20180427125809000;ST=22;CN=2011;PW=123456;MN=LXHB0CS0306310;Flag=5;CP=&&DataTime=20180427125809;"
          "a34004-Rtd=75600.000,a34004-Flag=N;a34002-Rtd=140600.000,a34002-Flag=N;a34001-Rtd=178000.000,"
          "a34001-Flag=N;a01001-Rtd=24.8,a01001-Flag=N;a01002-Rtd=46.8,a01002-Flag=N;a01006-Rtd=101.380,"
          "a01006-Flag=N;a01007-Rtd=0.0,a01007-Flag=N;a01008-Rtd=25,a01008-Flag=N;LA-Rtd=57.9,LA-Flag=N&&")
TZ = ZoneInfo("Asia/Shanghai")


def seg(cn: str = "2011", cp: str = "DataTime=20261123090000;a34002-Rtd=80.5,a34002-Flag=N", head: str = "") -> str:
    return head or f"QN=20261123090000123;ST=22;CN={cn};PW=123456;MN=DUST0001;Flag=5;" + f"CP=&&{cp}&&"


def test_the_reference_vector_gives_crc_5440_and_round_trips():
    assert len(VECTOR) == 379 and hj212.crc16(VECTOR.encode()) == 0x5440
    data = hj212.frame(VECTOR)
    assert data == b"##0379" + VECTOR.encode() + b"5440\r\n"
    packet = hj212.decode(data)
    assert (packet.qn, packet.st, packet.cn, packet.pw, packet.mn, packet.flag) == (
        "20180427125809000", "22", "2011", "123456", "LXHB0CS0306310", 5)
    assert packet.answer_required and packet.version == 1
    assert packet.data_time == datetime(2018, 4, 27, 12, 58, 9)
    assert packet.factors["a34002"].values == {"Rtd": 140600.0} and packet.factors["LA"].values == {"Rtd": 57.9}
    assert all(f.flag == "N" for f in packet.factors.values()) and len(packet.factors) == 9
    assert hj212.decode(hj212.encode(packet)) == packet


def test_crc_is_not_modbus():
    # CRC-16/MODBUS XORs each byte into the register; HJ 212 XORs it into the register shifted right by 8.
    assert hj212.crc16(b"123456789") != 0x4B37 and hj212.crc16(b"") == 0xFFFF


def test_crc_equals_appendix_a_step_by_step_for_every_length_and_byte():
    def appendix_a(data: bytes) -> int:  # the standard's loop, one bit at a time
        reg = 0xFFFF
        for byte in data:
            reg = (reg >> 8) ^ byte
            for _ in range(8):
                reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        return reg

    rng = random.Random(212)
    cases = [bytes(rng.randrange(256) for _ in range(n)) for n in list(range(70)) + [127, 128, 129, 1000, 4099]]
    cases += [bytes([b]) * 9 for b in range(256)]
    assert all(hj212.crc16(data) == appendix_a(data) for data in cases)


def test_every_field_kind_decodes():
    head = "QN=20261123090000123;ST=23;CN=2051;PW=pw-1;MN=NOISE-0000000000000001;Flag=7;PNUM=2;PNO=1;"
    cp = ("DataTime=20261123085900;LA-Avg=55.1,LA-Min=50,LA-Max=61.2,LA-Flag=M,LA-EFlag=A01;"
          "a01007-Cou=3,a01007-ZsRtd=-1.5e2;SystemTime=20261123090000")
    packet = hj212.decode(hj212.frame(head + f"CP=&&{cp}&&"))
    assert (packet.st, packet.cn, packet.pw, packet.mn, packet.pnum, packet.pno) == (
        "23", "2051", "pw-1", "NOISE-0000000000000001", 2, 1)
    assert packet.flag == 7 and packet.answer_required and packet.version == 1  # V=1, D=1, A=1
    assert packet.data_time == datetime(2026, 11, 23, 8, 59)
    la = packet.factors["LA"]
    assert la.values == {"Avg": 55.1, "Min": 50.0, "Max": 61.2} and la.flag == "M" and la.extra == {"EFlag": "A01"}
    assert packet.factors["a01007"].values == {"Cou": 3.0, "ZsRtd": -150.0}
    assert packet.fields == {"SystemTime": "20261123090000"}
    for cn in ("2011", "2061", "2031"):
        assert hj212.decode(hj212.frame(seg(cn))).cn == cn
    answer = hj212.decode(hj212.frame("QN=20261123090000123;ST=91;CN=9011;PW=1;MN=M1;Flag=4;CP=&&QnRtn=1&&"))
    assert answer.fields == {"QnRtn": "1"} and not answer.answer_required and answer.data_time is None
    for cn in ("9012", "9014"):
        assert hj212.decode(hj212.frame(f"ST=91;CN={cn};PW=1;MN=M1;CP=&&&&")).cn == cn
    old = hj212.decode(hj212.frame("ST=22;CN=2011;PW=123456;MN=OLD1;Flag=1;CP=&&DataTime=20261123090000;"
                                   "B03-Rtd=58;&&"))  # HJ/T 212-2005: version 0, a trailing ';' in CP
    assert old.version == 0 and old.answer_required and old.qn is None and old.factors["B03"].values == {"Rtd": 58.0}


GOOD = hj212.frame(seg())
BROKEN = [
    ("no header", b"#?" + GOOD[2:], "bad-header"),
    ("length field not digits", GOOD[:2] + b"00x9" + GOOD[6:], "bad-length"),
    ("length too short", b"##%04d" % (len(GOOD) - 13) + GOOD[6:], "bad-length"),
    ("length too long", b"##%04d" % (len(GOOD) - 11) + GOOD[6:], "bad-length"),
    ("no \\r\\n", GOOD[:-2] + b"\n\n", "bad-tail"),
    ("bad CRC", GOOD[:-6] + b"%04X\r\n" % (hj212.crc16(seg().encode()) ^ 1), "bad-crc"),
    ("CRC not hex", GOOD[:-6] + b"54G0\r\n", "bad-crc"),
    ("missing && (start)", hj212.frame(seg().replace("CP=&&", "CP=")), "bad-cp"),
    ("missing && (end)", hj212.frame(seg()[:-2]), "bad-cp"),
    ("no CP", hj212.frame("QN=1;ST=22;CN=2011;PW=1;MN=M1;Flag=5"), "bad-cp"),
    ("CP item without =", hj212.frame(seg(cp="DataTime=20261123090000;a34002")), "bad-cp"),
    ("unknown CN", hj212.frame(seg("2099")), "unknown-cn"),
    ("non-numeric value", hj212.frame(seg(cp="DataTime=20261123090000;a34002-Rtd=8O.5")), "bad-value"),
    ("NaN", hj212.frame(seg(cp="DataTime=20261123090000;a34002-Rtd=nan")), "bad-value"),
    ("infinite", hj212.frame(seg(cp="DataTime=20261123090000;a34002-Avg=1e999")), "bad-value"),
    ("bad data flag", hj212.frame(seg(cp="DataTime=20261123090000;a34002-Rtd=1,a34002-Flag=NN")), "bad-value"),
    ("no DataTime", hj212.frame(seg(cp="a34002-Rtd=80")), "bad-time"),
    ("bad DataTime", hj212.frame(seg(cp="DataTime=20261345090000;a34002-Rtd=80")), "bad-time"),
    ("no MN", hj212.frame("QN=1;ST=22;CN=2011;PW=1;Flag=5;CP=&&DataTime=20261123090000&&"), "missing-field"),
    ("MN too long", hj212.frame(seg().replace("DUST0001", "D" * 25)), "bad-segment"),
    ("ST too long", hj212.frame(seg().replace("ST=22;", "ST=123456;")), "bad-segment"),
    ("ST of one digit", hj212.frame(seg().replace("ST=22;", "ST=2;")), "bad-segment"),
    ("ST not a code", hj212.frame(seg().replace("ST=22;", "ST=2 2;")), "bad-segment"),
    ("header field without =", hj212.frame(seg().replace("ST=22;", "ST22;")), "bad-segment"),
    ("bad Flag", hj212.frame(seg().replace("Flag=5", "Flag=x")), "bad-flag"),
    ("Flag over 255", hj212.frame(seg().replace("Flag=5", "Flag=256")), "bad-flag"),
]


@pytest.mark.parametrize(("frame", "code"), [(f, c) for _, f, c in BROKEN], ids=[n for n, _, _ in BROKEN])
def test_each_broken_frame_yields_its_error(frame, code):
    with pytest.raises(hj212.FrameError) as err:
        hj212.decode(frame)
    assert err.value.code == code and code in hj212.ERRORS


def test_answers():
    packet = hj212.decode(GOOD)
    ack = hj212.decode(hj212.data_answer(packet))
    assert (ack.qn, ack.st, ack.cn, ack.mn, ack.pw, ack.flag, ack.factors, ack.fields) == (
        packet.qn, "91", "9014", "DUST0001", "123456", 4, {}, {})
    old = hj212.decode(hj212.frame("ST=22;CN=2051;PW=9;MN=OLD1;Flag=1;CP=&&DataTime=20261123090000&&"))
    ack = hj212.decode(hj212.data_answer(old))
    assert ack.flag == 0 and ack.fields == {"QN": "", "CN": "2051"}
    fields = hj212.peek(BROKEN[5][1])  # the bad-CRC frame: its header can still be read
    assert fields["MN"] == "DUST0001" and hj212.wants_answer(fields)
    rtn = hj212.decode(hj212.request_answer(fields, hj212.error_rtn("bad-crc")))
    assert (rtn.cn, rtn.qn, rtn.fields["QnRtn"]) == ("9011", "20261123090000123", "9")
    assert hj212.error_rtn("unknown-cn") == 8 and hj212.error_rtn("bad-value") == 100
    assert not hj212.wants_answer({"Flag": "4"}) and not hj212.wants_answer({})


def test_the_splitter_takes_several_frames_per_read_and_frames_across_reads():
    second = hj212.frame(seg("2051"))
    reader = hj212.FrameReader()
    assert reader.feed(GOOD + second) == [GOOD, second]
    stream = b"noise" + GOOD + b"\x00\xff" + second + b"#"
    got = [item for byte in stream for item in reader.feed(bytes([byte]))]
    assert got == [GOOD, second] and reader.junk == 7 and reader.buf == b"#"
    reader = hj212.FrameReader()
    items = reader.feed(GOOD[:40] + GOOD)  # a frame cut short by the next one
    assert isinstance(items[0], hj212.FrameError) and items[0].code == "bad-tail" and items[1:] == [GOOD]
    items = reader.feed(b"##0100" + b"x" * hj212.MAX_FRAME)
    assert [i.code for i in items] == ["too-long"] and reader.buf == b""
    assert reader.feed(b"###" + GOOD[2:]) == [GOOD]


DEVICE = DeviceRef(7, "DU-1", "dust", True)
NOW = datetime(2026, 11, 23, 9, 0, 30, tzinfo=TZ).timestamp()


def convert(packet, device=DEVICE, now=NOW):
    return from_packet(packet, device, now, TZ, 300, 90 * 86400.0)


def test_a_batch_converts_each_datatime_once_and_gets_the_same_readings():
    epochs: dict[datetime, float] = {}
    packets = [hj212.decode(hj212.frame(seg(cp=f"DataTime=2026112309000{s};a34002-Rtd={v},a34002-Flag=N")))
               for s, v in ((0, 80), (0, 81), (5, 82))]
    minute = hj212.decode(hj212.frame(seg("2051", "DataTime=20261123090005;a34002-Avg=90")))
    cached = [from_packet(p, DEVICE, NOW, TZ, 300, 90 * 86400.0, epochs) for p in [*packets, minute]]
    assert cached == [convert(p) for p in [*packets, minute]]
    assert [r.ts for r in cached] == [NOW - 30, NOW - 30, NOW - 25, NOW - 30]  # the minute starts at 09:00:00
    assert epochs == {datetime(2026, 11, 23, 9, 0, 0): NOW - 30, datetime(2026, 11, 23, 9, 0, 5): NOW - 25}


def test_packets_become_readings_and_intervals():
    vector = hj212.decode(hj212.frame(VECTOR.replace("20180427125809", "20261123090000")
                                      .replace("75600.000", "75.6").replace("140600.000", "140.6")
                                      .replace("178000.000", "178")))
    reading = convert(vector)
    assert isinstance(reading, Reading) and reading.ts == datetime(2026, 11, 23, 9, tzinfo=TZ).timestamp()
    assert reading.values == {"pm25": 75.6, "pm10": 140.6, "tsp": 178.0, "temp_c": 24.8, "humidity_pct": 46.8,
                              "wind_ms": 0.0, "wind_dir_deg": 25.0, "leq_db": 57.9}  # a01006 (pressure) unmapped
    assert reading.flags is None
    noise = convert(vector, DeviceRef(8, "NO-1", "noise", True))
    assert set(noise.values) == {"leq_db", "temp_c", "humidity_pct", "wind_ms", "wind_dir_deg"}  # no dust on it
    minute = convert(hj212.decode(hj212.frame(seg("2051", "DataTime=20261123085930;a34002-Avg=90,a34002-Min=80,"
                                                          "a34002-Max=120,a34002-Flag=N;a34004-Avg=40"))))
    assert isinstance(minute, Interval) and minute.step_s == 60
    assert minute.ts == datetime(2026, 11, 23, 8, 59, tzinfo=TZ).timestamp()  # the minute's local start
    assert minute.values == {"pm10": (90.0, 80.0, 120.0), "pm25": (40.0, 40.0, 40.0)}
    day = convert(hj212.decode(hj212.frame(seg("2031", "DataTime=20261122000000;a34002-Avg=70"))))
    assert day.step_s == 86400 and day.ts == datetime(2026, 11, 22, tzinfo=TZ).timestamp()


def test_flagged_values_are_kept_aside_and_bad_ones_refused():
    flagged = convert(hj212.decode(hj212.frame(seg(cp="DataTime=20261123090000;a34002-Rtd=9000,a34002-Flag=T;"
                                                      "a34004-Rtd=40,a34004-Flag=N"))))
    assert flagged.values == {"pm25": 40.0} and flagged.flags == {"pm10": ["T", 9000.0]}  # T: over range, unchecked
    only = convert(hj212.decode(hj212.frame(seg(cp="DataTime=20261123090000;a34002-Rtd=80,a34002-Flag=C"))))
    assert only.values == {} and only.flags == {"pm10": ["C", 80.0]}
    table = [
        (GOOD, None, "unknown-device"),
        (GOOD, DeviceRef(7, "DU-1", "dust", False), "device-inactive"),
        (hj212.frame(seg(cp="DataTime=20261123091000;a34002-Rtd=80")), DEVICE, "future-ts"),
        (hj212.frame(seg(cp="DataTime=20250101000000;a34002-Rtd=80")), DEVICE, "stale-ts"),
        (hj212.frame(seg(cp="DataTime=20261123090000;a34002-Rtd=6000")), DEVICE, "out-of-range"),
        (hj212.frame(seg(cp="DataTime=20261123090000;a21005-Rtd=1.1")), DEVICE, "no-values"),
        (hj212.frame(seg("2051", "DataTime=20261123085900;a34002-Avg=80,a34002-Max=9000")), DEVICE, "out-of-range"),
    ]
    for frame, device, reason in table:
        got = convert(hj212.decode(frame), device)
        assert isinstance(got, Reject) and got.reason == reason, (frame, got)


# --- fuzzing ------------------------------------------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_never_crash_the_decoder(data):
    for candidate in (data, b"##" + data, b"##%04d" % len(data) + data + b"0000\r\n"):
        try:
            hj212.decode(candidate)
        except hj212.FrameError as exc:
            assert exc.code in hj212.ERRORS


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300))
def test_fuzz_random_segments_with_a_valid_crc(text):
    for candidate in (text, seg()[:40] + text, seg()[:-2] + text + "&&"):
        try:
            packet = hj212.decode(hj212.frame(candidate))
        except hj212.FrameError as exc:
            assert exc.code in hj212.ERRORS
        else:
            assert packet.cn in hj212.COMMANDS and len(packet.mn) <= 24


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(GOOD) - 1), st.integers(0, 255))
def test_fuzz_one_changed_byte_is_caught(at, byte):
    data = bytearray(GOOD)
    data[at] = byte
    try:
        packet = hj212.decode(bytes(data))
    except hj212.FrameError as exc:
        assert exc.code in hj212.ERRORS
    else:  # only a change the CRC cannot see (its own hex digits' case) may pass
        assert packet == hj212.decode(GOOD)


NAMES = st.text(alphabet="abcdefghijkLMNOP0123456789", min_size=1, max_size=8)
NUMBERS = st.floats(allow_nan=False, allow_infinity=False, width=32).map(float)
FACTORS = st.dictionaries(NAMES, st.tuples(st.dictionaries(st.sampled_from(sorted(hj212.NUMERIC)), NUMBERS, max_size=4),
                                           st.sampled_from([None, *hj212.DATA_FLAGS])), max_size=6)


@settings(max_examples=300, deadline=None)
@given(NAMES, st.sampled_from(sorted(hj212.COMMANDS)), st.integers(0, 255), FACTORS,
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)))
def test_fuzz_packets_round_trip(mn, cn, flag, factors, when):
    packet = hj212.Packet("22", cn, mn, "20261123090000123", "pw", flag, data_time=when.replace(microsecond=0),
                          factors={c: hj212.Factor(c, dict(v), f) for c, (v, f) in factors.items() if v or f})
    assert hj212.decode(hj212.encode(packet)) == packet


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=40).filter(lambda b: b"#" not in b)), max_size=12),
       st.integers(1, 64), st.randoms())
def test_fuzz_the_splitter_finds_every_frame_among_garbage(parts, chunk, rng):
    frames = [hj212.frame(seg(cn=rng.choice(["2011", "2051"]))) for _ in parts]
    stream = b"".join((f if keep else b"") + junk for (keep, junk), f in zip(parts, frames))
    wanted = [f for (keep, _), f in zip(parts, frames) if keep]
    reader = hj212.FrameReader()
    got = [i for at in range(0, len(stream), chunk) for i in reader.feed(stream[at:at + chunk])]
    assert [g for g in got if isinstance(g, bytes)] == wanted


def test_timestamps_use_the_station_zone():
    packet = hj212.decode(GOOD)
    assert convert(packet).ts == datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc).timestamp()


# Uploads of the standard's command table that are not data, as stations send them (issue 19).
UPLOADS = [
    ("2081", "DataTime=20261123090000;RestartTime=20261123085930", {"RestartTime": "20261123085930"}),
    ("2021", "DataTime=20261123090000;SB1-RS=1;SB2-RS=0", {"SB1-RS": "1", "SB2-RS": "0"}),
    ("2041", "DataTime=20261123000000;SB1-RT=23.5", {"SB1-RT": "23.5"}),
    ("3020", "DataTime=20261123090000;PolId=a34002;i12001-Info=1;i13004-Info=0.25", {
        "PolId": "a34002", "i12001-Info": "1", "i13004-Info": "0.25"}),
]


@pytest.mark.parametrize(("cn", "cp", "values"), UPLOADS, ids=[u[0] for u in UPLOADS])
def test_the_standard_uploads_that_are_not_data_are_known_and_their_items_kept(cn, cp, values):
    packet = hj212.decode(hj212.frame(seg(cn, cp)))
    assert packet.cn == cn and cn in hj212.UPLOADS and packet.answer_required
    assert packet.data_time == datetime(2026, 11, 23, 9 if cn != "2041" else 0, 0)
    assert hj212.event_values(packet) == values
    ack = hj212.decode(hj212.data_answer(packet))
    assert (ack.cn, ack.qn, ack.mn) == ("9014", packet.qn, "DUST0001")


@pytest.mark.parametrize("code", ["22", "101", "C5", "12345"])
def test_st_is_a_code_of_two_to_five_characters(code):
    packet = hj212.decode(hj212.frame(seg().replace("ST=22;", f"ST={code};")))
    assert packet.st == code and packet.factors["a34002"].values == {"Rtd": 80.5}


def test_a_known_header_tail_is_reused_only_with_a_valid_qn_of_its_own():
    first = hj212.decode(GOOD)  # reads and remembers the tail after QN
    again = hj212.decode(hj212.frame(seg().replace("QN=20261123090000123", "QN=20261123090001456")))
    assert (again.qn, again.mn, again.pw, again.flag) == ("20261123090001456", first.mn, first.pw, first.flag)
    for qn in ("QN=2026x;", "QN=123456789012345678901;", "QN=;"):
        with pytest.raises(hj212.FrameError) as err:
            hj212.decode(hj212.frame(seg().replace("QN=20261123090000123;", qn)))
        assert err.value.code == "bad-segment"
    twice = seg().replace("Flag=5;", "Flag=5;QN=77;")  # a later QN wins, as when read in full
    assert hj212.decode(hj212.frame(twice)).qn == hj212.decode(hj212.frame(twice)).qn == "77"
    paged = seg().replace("Flag=5;", "Flag=5;PNUM=3;PNO=2;")
    assert [(p.pnum, p.pno) for p in (hj212.decode(hj212.frame(paged)), hj212.decode(hj212.frame(paged)))] == [(3, 2)] * 2


def test_the_splitter_slices_a_read_of_many_frames_and_keeps_the_unfinished_one():
    reader = hj212.FrameReader()
    frames = [hj212.frame(seg(cp=f"DataTime=20261123090000;a34002-Rtd={i}")) for i in range(500)]
    stream = b"".join(frames)
    assert reader.feed(stream[:-10]) == frames[:-1] and reader.buf == frames[-1][:-10]
    assert reader.feed(stream[-10:] + b"xx#") == frames[-1:] and reader.buf == b"#" and reader.junk == 2


def test_decode_head_reads_the_header_and_leaves_the_items_to_parse():
    good = hj212.decode_head(hj212.frame(VECTOR))
    assert (good.qn, good.cn, good.mn, good.pw, good.flag, good.factors, good.data_time) == (
        "20180427125809000", "2011", "LXHB0CS0306310", "123456", 5, {}, None)
    bad_item = hj212.frame(seg(cp="DataTime=20261123090000;a34002-Rtd=8O.5"))
    assert hj212.decode_head(bad_item).mn == "DUST0001"  # the item is the ingest process's to refuse
    with pytest.raises(hj212.FrameError, match="bad-value"):
        hj212.decode(bad_item)
    for broken, code in ((hj212.frame(seg(cp="a&&b")), "bad-cp"), (hj212.frame(VECTOR)[:-4] + b"\r\n", "bad-length"),
                         (hj212.frame(seg().replace("CN=2011", "CN=7777")), "unknown-cn")):
        with pytest.raises(hj212.FrameError, match=code):
            hj212.decode_head(broken)


def test_a_lazy_parse_keeps_the_factors_as_items_and_gives_the_same_readings_and_events():
    cps = ("DataTime=20261123090000;a34002-Rtd=80.5,a34002-Flag=C;a34004-Rtd=30,a34004-Flag=N;LA-Rtd=57.9;a01006-Xx=ab",
           "DataTime=20261123090000;a34002-Avg=80.5,a34002-Min=70,a34002-Max=90,a34002-Flag=N")
    for cn, cp in (("2011", cps[0]), ("2051", cps[1]), ("2081", cps[0])):
        full, lazy = hj212.parse(seg(cn, cp)), hj212.parse(seg(cn, cp), lazy=True)
        assert lazy.factors == {} and full.items == {} and set(lazy.items) == set(full.factors)
        assert list(hj212.factor_items(lazy)) == [(f.code, f.values, f.flag, f.extra or None)
                                                   for f in full.factors.values()]
        assert hj212.event_values(lazy) == hj212.event_values(full)
        if cn in hj212.INTERVALS:
            assert convert(lazy) == convert(full)
