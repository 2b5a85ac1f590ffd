"""The JT/T 808 codec against byte strings written out from the specification (shared/reference/jt808.md) and
against 112 frames captured from real terminals (jt808_frames.tsv), plus fuzzing: random and mutated frames."""

from __future__ import annotations

import struct
from datetime import datetime, timezone
from functools import reduce
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityloop.fleet import jt808 as j
from cityloop.fleet.domain import FLAG_BAD_CHECKSUM

# 112 frames from Traccar's JT/T 808 decoder tests (Apache-2.0; source and commit in the file's header).
CORPUS = Path(__file__).resolve().parents[1] / "data" / "jt808_frames.tsv"


def xor(data: bytes) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


def corpus() -> list[tuple[str, bytes, str]]:
    rows = [line.rstrip("\n").split("\t") for line in CORPUS.read_text().splitlines() if not line.startswith("#")]
    return [(mid, bytes.fromhex(hx), check) for mid, hx, check in rows]


@pytest.mark.parametrize("raw, escaped", [
    (b"\x30\x7e\x08", b"\x30\x7d\x02\x08"),
    (b"\x30\x7d\x08", b"\x30\x7d\x01\x08"),
    (b"\x7e\x7d", b"\x7d\x02\x7d\x01"),
    (b"\x7d\x02", b"\x7d\x01\x02"),  # an escape byte followed by 02 must not turn into 7E on the way back
    (b"\x01\x02", b"\x01\x02"),
])
def test_escaping_as_the_specification_says(raw, escaped):
    assert j.escape(raw) == escaped
    assert j.unescape(escaped) == (raw, 0)


def test_invalid_escapes_are_counted_and_dropped():
    assert j.unescape(b"\x01\x7d\x05\x02") == (b"\x01\x02", 1)


@given(st.binary(max_size=2000))
def test_checksum_is_the_xor_of_all_bytes(data):
    assert j.checksum(data) == xor(data)
    assert j.unescape(j.escape(data)) == (data, 0)


@pytest.mark.parametrize("digits, size, hexed", [
    ("013800138000", 6, "013800138000"), ("13800138000", 6, "013800138000"),
    ("00000866496077582164", 10, "00000866496077582164"), ("1", 2, "0001"),
])
def test_bcd(digits, size, hexed):
    assert j.bcd(digits, size).hex() == hexed


def test_the_worked_example_of_the_digest():
    # 7e 0200 001c 013800138000 0001 | 00000000 00000003 01ef25d0 070f1930 0014 0384 005a 261124020000 | xor 7e
    content = bytes.fromhex("0200001c0138001380000001" "00000000" "00000003" "01ef25d0" "070f1930" "0014" "0384"
                            "005a" "261124020000")
    expected = b"\x7e" + content + bytes([xor(content)]) + b"\x7e"
    loc = j.Location.make(118.43, 32.45, 90.0, 90, datetime(2026, 11, 24, 2, 0, tzinfo=j.BEIJING), altitude=20)
    assert j.encode_frame(j.LOCATION, "013800138000", 1, j.encode_location(loc)) == expected
    frame = j.decode_frame(expected[1:-1])
    assert frame.checksum_ok and frame.length_ok
    assert (frame.header.msg_id, frame.header.phone, frame.header.serial, frame.header.terminal_key) == (
        0x0200, "013800138000", 1, "13800138000")
    got = j.decode_location(frame.body)
    assert (got.lat, got.lon, got.altitude, got.speed_kmh, got.heading) == (32.45, 118.43, 20, 90.0, 90)
    assert got.time == datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)  # 02:00 GMT+8
    assert got.status & j.STATUS_ACC and got.status & j.STATUS_FIXED
    assert j.location_fix(frame.body) == (0, 3, 118.43, 32.45, 90.0, 90, got.time.timestamp())


def test_a_2019_header_carries_the_version_and_a_20_digit_phone():
    frame = j.encode_frame(j.HEARTBEAT, "00000866496077582164", 7, version=1)
    content = "0002" + "4000" + "01" + "00000866496077582164" + "0007"
    assert frame.hex() == "7e" + content + f"{xor(bytes.fromhex(content)):02x}" + "7e"
    h = j.decode_frame(frame[1:-1]).header
    assert (h.version, h.phone, h.serial, h.terminal_key) == (1, "00000866496077582164", 7, "866496077582164")


def test_general_and_register_responses():
    assert j.encode_general_response(0x1234, 0x0200, j.OK).hex() == "1234020000"
    assert j.decode_general_response(bytes.fromhex("1234010204")) == (0x1234, 0x0102, j.ALARM_ACK)
    assert j.encode_register_response(9, j.OK, "abc").hex() == "000900616263"
    assert j.encode_register_response(9, 4, "abc").hex() == "000904"  # no code unless accepted
    assert j.decode_register_response(bytes.fromhex("000900616263")) == (9, 0, "abc")


@pytest.mark.parametrize("is_2019", [False, True])
def test_register_and_authenticate_round_trip(is_2019):
    reg = j.Registration(34, 1122, "CLOOP", "SIM-808", "T000001", 2, "皖MA0001")
    assert j.decode_register(j.encode_register(reg, is_2019), is_2019) == reg
    assert j.decode_auth(j.encode_auth("code-1", is_2019, "860000000000001", "v1.0"), is_2019) == (
        "code-1", "860000000000001" if is_2019 else "", "v1.0" if is_2019 else "")


def test_a_batch_and_a_blind_area_back_fill():
    when = datetime(2026, 11, 24, 2, 0, tzinfo=j.BEIJING)
    bodies = [j.encode_location(j.Location.make(118.43 + i / 1000, 32.45, 30, 0, when)) for i in range(3)]
    body = j.encode_batch(1, bodies)
    assert body[:3] == b"\x00\x03\x01" and body[3:5] == b"\x00\x1c"
    assert j.decode_batch(body) == (1, bodies)
    assert j.decode_batch(body[:-5]) == (1, bodies[:2])  # a truncated item is dropped


def test_sub_packages_are_reassembled_in_any_order():
    body = bytes(range(256)) * 10
    parts = j.split_body(body)
    assert [len(p) for p in parts] == [1023, 1023, 514]
    asm = j.Reassembler()
    headers = [j.Header(0x0704, "013800138000", 40 + i, total=3, index=i + 1) for i in range(3)]
    assert asm.add(headers[2], parts[2], 0.0) is None
    assert asm.add(headers[0], parts[0], 1.0) is None
    assert asm.add(headers[1], parts[1], 2.0) == body
    frame = j.encode_frame(0x0704, "013800138000", 41, parts[1], total=3, index=2)
    h = j.decode_frame(frame[1:-1]).header
    assert (h.total, h.index, h.body_length) == (3, 2, 1023)


def test_stale_sub_packages_are_forgotten():
    asm = j.Reassembler(max_age=60)
    h1, h2 = (j.Header(0x0704, "1", 10 + i, total=2, index=i + 1) for i in range(2))
    assert asm.add(h1, b"a", 0.0) is None
    assert asm.add(h2, b"b", 100.0) is None  # the first package expired meanwhile


def test_the_stream_is_cut_into_frames():
    a = j.encode_frame(j.HEARTBEAT, "013800138000", 1)
    b = j.encode_frame(j.HEARTBEAT, "013800138000", 2)
    buf = j.FrameBuffer()
    assert buf.feed(b"junk" + a + b[:5]) == [a[1:-1]]
    assert buf.feed(b[5:] + b[:3]) == [b[1:-1]]
    assert buf.feed(b[3:]) == [b[1:-1]]
    small = j.FrameBuffer(max_frame=64)
    assert small.feed(b"\x7e" + b"x" * 100) == [] and small.overflows == 1
    assert small.feed(a) == [a[1:-1]]


def test_every_captured_frame_decodes_and_the_clean_ones_re_encode_byte_for_byte():
    clean = dirty = 0
    for mid, raw, _ in corpus():
        for part in j.FrameBuffer().feed(raw):  # as the gateway meets it: never an exception but FrameError
            try:
                j.decode_frame(part)
            except j.FrameError:
                pass
        if raw[:1] != b"\x7e":
            continue  # one vendor line is ASCII, not 808
        frame = j.decode_frame(raw[1:-1])
        assert f"0x{frame.header.msg_id:04x}" == mid
        if frame.checksum_ok and frame.length_ok and not frame.bad_escapes and b"\x7e" not in raw[1:-1]:
            clean += 1
            assert j.encode(frame.header, frame.body) == raw
            if frame.header.msg_id == j.LOCATION:
                assert j.encode_location(j.decode_location(frame.body)) == frame.body
            if frame.header.msg_id == j.BATCH:
                kind, items = j.decode_batch(frame.body)
                assert j.encode_batch(kind, items) == frame.body
                assert all(j.encode_location(j.decode_location(i)) == i for i in items)
        else:
            dirty += 1
    assert (clean, dirty) == (90, 21)


def test_values_the_reference_decoder_asserts():
    rows = corpus()
    satellites = [raw for mid, raw, check in rows if check.endswith("KEY_SATELLITES, 14")]
    assert len(satellites) == 2
    for raw in satellites:
        kind, items = j.decode_batch(j.decode_frame(raw[1:-1]).body)
        assert j.decode_location(items[0]).extra(0x31) == bytes([14])
    frames = [j.decode_frame(raw[1:-1]) for mid, raw, _ in rows if mid == "0x0100"]
    regs = {f.header.phone: f for f in frames}
    r2019 = regs["00000866496077582164"]
    assert r2019.header.version == 1
    assert j.decode_register(r2019.body, True) == j.Registration(0, 0, "", "MD300", "866496077582164", 4, "")
    bsj = j.decode_register(regs["013345678906"].body, False)
    assert (bsj.province, bsj.city, bsj.model, bsj.plate_color, bsj.plate) == (44, 303, "BSJ-M7B", 1, "粤B88888")
    assert j.decode_register(regs["094027849470"].body, False).plate == ""  # the 2011 layout
    auths = [j.decode_auth(j.decode_frame(raw[1:-1]).body, False)[0] for mid, raw, _ in rows if mid == "0x0102"]
    assert "authentication" in auths and "2011110811332196" in auths
    # the digest's test vector: south and west, 2025-11-18 11:26:11 GMT+8
    loc = next(j.decode_location(j.decode_frame(raw[1:-1]).body) for _, raw, _ in rows
               if raw.hex().startswith("7e0200004d794308010679"))
    assert (loc.lat, loc.lon, loc.altitude, loc.speed_kmh) == (-25.269608, -57.602956, 92, 1.8)
    assert loc.time == datetime(2025, 11, 18, 3, 26, 11, tzinfo=timezone.utc)
    positions = [raw for mid, raw, check in rows if mid == "0x0200" and check == "verifyPosition"]
    for raw in positions:
        frame = j.decode_frame(raw[1:-1])
        fix = j.location_fix(frame.body)
        assert fix is not None and -90 <= fix[3] <= 90 and -180 <= fix[2] <= 180


def _decode_everything(data: bytes) -> None:
    """What the gateway does with bytes from the wire; only FrameError may come out."""
    for part in j.FrameBuffer().feed(data):
        try:
            frame = j.decode_frame(part)
            for fn in (j.decode_location, lambda b: j.decode_batch(b), lambda b: j.decode_register(b, False),
                       lambda b: j.decode_register(b, True), lambda b: j.decode_auth(b, True),
                       lambda b: j.decode_auth(b, False), j.decode_general_response, j.decode_register_response):
                try:
                    fn(frame.body)
                except j.FrameError:
                    pass
            j.location_fix(frame.body)
        except j.FrameError:
            pass


@settings(max_examples=400, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_crash_the_decoder(data):
    _decode_everything(b"\x7e" + data + b"\x7e")
    _decode_everything(data)


@settings(max_examples=600, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.sampled_from([raw for _, raw, _ in corpus()]), st.lists(st.tuples(st.integers(0, 10_000),
                                                                          st.integers(0, 255)), max_size=8),
       st.integers(0, 400), st.booleans())
def test_mutated_real_frames_never_crash_the_decoder(raw, flips, cut, truncate):
    data = bytearray(raw)
    for pos, value in flips:
        data[pos % len(data)] = value
    if truncate:
        data = data[:max(1, len(data) - cut)]
    _decode_everything(bytes(data))


# --- what real terminals do (issue 19) ------------------------------------------------------------------------------

class _Wire:
    """A transport that keeps what the gateway writes."""

    def __init__(self):
        self.sent = b""

    def write(self, data: bytes) -> None:
        self.sent += data

    def close(self) -> None:
        pass


def _session(fixes: list, *, accept_bad_checksum: bool = True):
    from cityloop.fleet.gateway import Gateway, Session, Terminal

    gw = Gateway(lambda key: Terminal(7, "皖A00001", "code") if key == "13800138000" else None, fixes.extend,
                 accept_bad_checksum=accept_bad_checksum)
    s = Session(gw)
    s.connection_made(_Wire())
    return gw, s


def _answers(s) -> list[j.Frame]:
    frames = [j.decode_frame(raw) for raw in j.FrameBuffer().feed(s.transport.sent)]
    s.transport.sent = b""
    return frames


def _login(s, phone: str = "013800138000") -> None:
    s.data_received(j.encode_frame(j.AUTHENTICATE, phone, 1, j.encode_auth("code")))
    assert j.decode_general_response(_answers(s)[0].body)[2] == j.OK


def test_sub_packages_with_other_messages_between_them_are_reassembled():
    when = datetime(2026, 11, 24, 2, 0, tzinfo=j.BEIJING)
    body = j.encode_batch(0, [j.encode_location(j.Location.make(118.43, 32.45, 30, 0, when)) for _ in range(40)])
    parts = j.split_body(body)
    assert len(parts) == 2
    asm = j.Reassembler()
    first = j.Header(j.BATCH, "013800138000", 20, total=2, index=1)
    second = j.Header(j.BATCH, "013800138000", 22, total=2, index=2)  # serial 21 was a heartbeat
    assert asm.add(first, parts[0], 0.0) is None
    assert asm.add(second, parts[1], 1.0) == body
    # the same through a gateway connection: a heartbeat and a location between the packages are answered and
    # acted on, and the batch's 40 positions arrive once it is whole
    fixes: list = []
    gw, s = _session(fixes)
    _login(s)
    loc = j.encode_location(j.Location.make(118.5, 32.5, 10, 0, when))
    s.data_received(j.encode_frame(j.BATCH, "013800138000", 20, parts[0], total=2, index=1)
                    + j.encode_frame(j.HEARTBEAT, "013800138000", 21)
                    + j.encode_frame(j.LOCATION, "013800138000", 22, loc)
                    + j.encode_frame(j.BATCH, "013800138000", 23, parts[1], total=2, index=2))
    got = [j.decode_general_response(a.body) for a in _answers(s)]
    assert got == [(20, j.BATCH, j.OK), (21, j.HEARTBEAT, j.OK), (22, j.LOCATION, j.OK), (23, j.BATCH, j.OK)]
    assert len(gw.pending) == 41 and gw.pending[0][2] == 118.5


def test_sub_packages_are_bounded():
    asm = j.Reassembler(max_pending=2, max_packages=4)
    assert asm.add(j.Header(j.BATCH, "1", 1, total=5, index=1), b"x", 0.0) is None and asm.refused == 1
    for k, mid in enumerate((0x0704, 0x0705, 0x0706)):  # a third partial message pushes out the oldest
        asm.add(j.Header(mid, "1", 1, total=2, index=1), b"a", float(k))
    assert asm.add(j.Header(0x0704, "1", 9, total=2, index=2), b"b", 3.0) is None
    assert asm.add(j.Header(0x0706, "1", 9, total=2, index=2), b"b", 3.0) == b"ab"
    fixes: list = []
    gw, s = _session(fixes)
    s.data_received(j.encode_frame(j.BATCH, "013800138000", 5, b"x", total=60000, index=1))
    assert j.decode_general_response(_answers(s)[0].body)[2] == j.BAD_MESSAGE


def test_a_2013_header_with_the_reserved_bit_14_set_is_read_as_2013():
    when = datetime(2026, 11, 24, 2, 0, tzinfo=j.BEIJING)
    loc = j.encode_location(j.Location.make(118.43, 32.45, 30, 0, when))
    for mid, body in ((j.HEARTBEAT, b""), (j.AUTHENTICATE, j.encode_auth("code")), (j.LOCATION, loc)):
        content = struct.pack(">HH", mid, 0x4000 | len(body)) + bytes.fromhex("013800138000") + b"\x00\x05" + body
        raw = b"\x7e" + j.escape(content + bytes([xor(content)])) + b"\x7e"
        frame = j.decode_frame(raw[1:-1])
        h = frame.header
        assert (h.version, h.phone, h.serial, h.terminal_key) == (None, "013800138000", 5, "13800138000")
        assert frame.body == body and frame.checksum_ok and frame.length_ok
        assert j.encode(h, frame.body) == raw  # the bit is kept as sent
    # the gateway answers such a terminal with a 2013 header to its own phone number
    fixes: list = []
    gw, s = _session(fixes)
    for mid, body in ((j.AUTHENTICATE, j.encode_auth("code")), (j.LOCATION, loc)):
        content = struct.pack(">HH", mid, 0x4000 | len(body)) + bytes.fromhex("013800138000") + b"\x00\x05" + body
        s.data_received(b"\x7e" + j.escape(content + bytes([xor(content)])) + b"\x7e")
        (answer,) = _answers(s)
        assert (answer.header.version, answer.header.phone) == (None, "013800138000")
        assert j.decode_general_response(answer.body) == (5, mid, j.OK)
    assert len(gw.pending) == 1
    # a real 2019 frame still reads as 2019
    h = j.decode_frame(j.encode_frame(j.HEARTBEAT, "00000866496077582164", 7, version=1)[1:-1]).header
    assert (h.version, h.phone) == (1, "00000866496077582164")


def test_an_unescaped_0x7d_checksum_before_the_closing_flag_is_accepted():
    head = bytes.fromhex("00020000013800138000") + b"\x00"
    content = head + bytes([xor(head) ^ 0x7D])  # the serial's low byte makes the checksum 0x7D
    assert xor(content) == 0x7D
    raw = b"\x7e" + content + b"\x7d\x7e"  # not escaped to 7D 01, as some terminals send it
    frame = j.decode_frame(raw[1:-1])
    assert frame.checksum_ok and frame.length_ok and frame.bad_escapes == 0
    assert frame.header.serial == content[-1]
    assert j.decode_frame(j.escape(content + b"\x7d"))  # the escaped form still decodes
    fixes: list = []
    gw, s = _session(fixes, accept_bad_checksum=False)
    s.data_received(raw)
    assert j.decode_general_response(_answers(s)[0].body) == (content[-1], j.HEARTBEAT, j.OK)


def test_altitude_is_an_unsigned_word():
    when = datetime(2026, 11, 24, 2, 0, tzinfo=j.BEIJING)
    body = bytearray(j.encode_location(j.Location.make(118.43, 32.45, 30, 0, when)))
    body[16:18] = (40000).to_bytes(2, "big")
    loc = j.decode_location(bytes(body))
    assert loc.altitude == 40000
    assert j.encode_location(loc) == bytes(body)
    assert j.decode_location(j.encode_location(j.Location.make(1, 1, 0, 0, when, altitude=65535))).altitude == 65535


# --- the gateway's fast path (issue 18) -----------------------------------------------------------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=28, max_size=80), st.integers(0, 0xFFFF), st.sampled_from([0x0200, 0x0002]),
       st.integers(0, 3), st.booleans())
def test_the_fast_path_reads_a_frame_as_decode_frame_does(body, serial, mid, damage, other_phone):
    phone = "013800138000"
    raw = bytearray(j.encode_frame(mid, phone, serial, body))
    if damage == 1:
        raw[-2] ^= 0x01 if raw[-2] not in (0x7C, 0x7F) else 0x10  # a wrong checksum, escapes kept valid
    elif damage == 2:
        raw[1:1] = b"\x7d\x05"  # an invalid escape
    elif damage == 3:
        raw += b"\x7e\x00"  # a second, partial frame in the same read
    got = j.plain_location(bytes(raw), bytes.fromhex("013800138001" if other_phone else phone))
    frame = j.decode_frame(bytes(raw[1:-1])) if damage != 3 else None
    fast = (damage == 0 and mid == j.LOCATION and not other_phone and len(raw) <= 128)
    assert (got is not None) == fast
    if got is not None and frame is not None:
        assert frame.checksum_ok and frame.bad_escapes == 0 and frame.header.msg_id == j.LOCATION
        assert got[13:-2] == frame.body and int.from_bytes(got[11:13], "big") == frame.header.serial


def test_escaped_locations_and_answer_serials_are_answered_as_the_full_decoder_would():
    when = datetime(2026, 11, 24, 2, 0, tzinfo=j.BEIJING)
    fixes: list = []
    gw, s = _session(fixes)
    _login(s)
    plain = j.encode_location(j.Location.make(118.5, 32.5, 12.6, 126, when))  # heading 126 = 0x7E
    assert b"\x7e" in plain
    sent = []
    for serial in range(0x7A, 0x82):  # the terminal's serials and the gateway's pass 0x7D and 0x7E
        s.data_received(j.encode_frame(j.LOCATION, "013800138000", serial, plain))
        sent.append(serial)
    answers = _answers(s)
    assert [j.decode_general_response(a.body) for a in answers] == [(k, j.LOCATION, j.OK) for k in sent]
    assert [a.header.serial for a in answers] == list(range(2, 2 + len(sent)))  # the login took serial 1
    assert all(a.checksum_ok and a.bad_escapes == 0 for a in answers)
    assert len(gw.pending) == len(sent) and gw.pending[0][5] == 126 and gw.pending[0][4] == 12.6
    assert gw.stats["frames"] == 1 + len(sent) and gw.stats["bad_checksum"] == 0
    # an invalid escape still goes the long way: answered, its position kept and flagged
    raw = bytearray(j.encode_frame(j.LOCATION, "013800138000", 0x90, plain))
    raw[1:1] = b"\x7d\x05"
    s.data_received(bytes(raw))
    assert gw.stats["bad_checksum"] == 1 and gw.pending[-1][8] == FLAG_BAD_CHECKSUM


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=28, max_size=60), st.integers(0, 0xFFFF))
def test_the_fast_path_queues_and_answers_what_the_full_decoder_does(body, serial):
    fast_fixes: list = []
    gw_fast, fast = _session(fast_fixes)
    gw_slow, slow = _session([])
    _login(fast)
    _login(slow)
    slow.fast_phone = b""  # this session always takes handle() …
    fast.handle = None  # … and this one never does (it would count an error)
    frame = j.encode_frame(j.LOCATION, "013800138000", serial, body)
    fast.data_received(frame)
    slow.data_received(frame)
    assert fast.buffer.at_rest and slow.buffer.at_rest
    assert gw_fast.pending == gw_slow.pending
    assert gw_fast.stats == gw_slow.stats
    assert fast.transport.sent == slow.transport.sent


def _captured_frames() -> list[bytes]:
    return [raw for _, raw, _ in corpus() if raw[:1] == b"\x7e" and raw.find(b"\x7e", 1) == len(raw) - 1]


@pytest.mark.parametrize("raw", _captured_frames(), ids=lambda raw: raw[:12].hex())
def test_the_fast_path_agrees_with_decode_frame_on_every_captured_frame(raw):
    frame = j.decode_frame(raw[1:-1])
    h = frame.header
    got = j.plain_location(raw, bytes.fromhex(h.phone) if h.version is None else b"")
    fast = (h.msg_id == j.LOCATION and h.version is None and h.total is None and frame.checksum_ok
            and not frame.bad_escapes and len(frame.body) >= 28 and len(raw) <= 128 and raw[-2:-1] != b"\x7d")
    assert (got is not None) == fast
    if got is not None:  # the body read in place is the body decode_frame cuts out
        assert got[13:-2] == frame.body
        assert j.location_fix(got, 13) == j.location_fix(frame.body)


@pytest.mark.parametrize("body", [bytes(range(28)), bytes(range(40)), bytes(27), b""])
@pytest.mark.parametrize("offset", [0, 13])
def test_a_location_read_at_an_offset_is_the_location_of_the_slice(body, offset):
    assert j.location_fix(bytes(offset) + body, offset) == j.location_fix(body)
