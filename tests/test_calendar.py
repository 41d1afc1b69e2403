"""The tutor's calendar (content/calendar.py): local days, push instants, time zones and parsing
what learners type. Pure: no SQLite, the clock is an argument."""

from datetime import UTC, date, datetime, timedelta

import pytest

from content.calendar import (
    local_date,
    next_push_at,
    parse_push_time,
    parse_small_int,
    parse_tz,
    push_instant,
    zone,
)


def at(text: str) -> datetime:
    """An exact UTC instant: at("2025-03-30 01:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_local_date_follows_the_users_zone():
    assert local_date(at("2025-03-10 23:30"), "UTC") == date(2025, 3, 10)
    assert local_date(at("2025-03-10 23:30"), "Europe/Berlin") == date(2025, 3, 11)
    assert local_date(at("2025-03-10 09:00"), "Pacific/Pago_Pago") == date(2025, 3, 9)
    assert local_date(at("2025-03-10 10:30"), "Pacific/Kiritimati") == date(2025, 3, 11)


def test_local_date_with_day_start_hour_puts_a_1am_answer_on_yesterday():
    one_am_berlin = at("2025-03-11 00:00")  # 01:00 CET
    assert local_date(one_am_berlin, "Europe/Berlin") == date(2025, 3, 11)
    assert local_date(one_am_berlin, "Europe/Berlin", day_start_hour=4) == date(2025, 3, 10)
    assert local_date(at("2025-03-11 03:00"), "Europe/Berlin", 4) == date(2025, 3, 11)


def test_local_date_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2025, 3, 10, 12, 0), "UTC")


def test_push_instant_is_the_wall_time_in_the_chats_zone():
    assert push_instant(date(2025, 3, 10), "09:00", "Europe/Berlin") == at("2025-03-10 08:00")
    assert push_instant(date(2025, 7, 10), "09:00", "Europe/Berlin") == at("2025-07-10 07:00")
    assert push_instant(date(2025, 3, 10), "09:00", "UTC+05:30") == at("2025-03-10 03:30")


def test_push_time_in_a_spring_forward_gap_fires_at_the_first_valid_instant_after():
    # Berlin jumps 02:00 CET -> 03:00 CEST on 2025-03-30 (01:00 UTC)
    assert push_instant(date(2025, 3, 30), "02:30", "Europe/Berlin") == at("2025-03-30 01:00")
    assert push_instant(date(2025, 3, 30), "02:00", "Europe/Berlin") == at("2025-03-30 01:00")
    # New York jumps 02:00 EST -> 03:00 EDT on 2025-03-09 (07:00 UTC)
    assert push_instant(date(2025, 3, 9), "02:15", "America/New_York") == at("2025-03-09 07:00")


def test_push_time_on_a_skipped_day_fires_at_the_start_of_the_next_day():
    # Samoa skipped 2011-12-30 entirely when it crossed the date line
    assert push_instant(date(2011, 12, 30), "09:00", "Pacific/Apia") == at("2011-12-30 10:00")


def test_push_time_in_a_fall_back_fold_uses_the_first_occurrence():
    # 02:30 happens twice in Berlin on 2025-10-26; first time is CEST (+2)
    assert push_instant(date(2025, 10, 26), "02:30", "Europe/Berlin") == at("2025-10-26 00:30")
    assert push_instant(date(2025, 11, 2), "01:30", "America/New_York") == at("2025-11-02 05:30")


def test_next_push_at_is_today_if_today_had_no_delivery_even_if_past():
    now = at("2025-03-10 12:00")
    assert next_push_at(now, "UTC", "09:00", None) == at("2025-03-10 09:00")
    assert next_push_at(now, "UTC", "18:00", date(2025, 3, 9)) == at("2025-03-10 18:00")


def test_next_push_at_is_tomorrow_once_today_was_delivered():
    now = at("2025-03-10 12:00")
    assert next_push_at(now, "UTC", "09:00", date(2025, 3, 10)) == at("2025-03-11 09:00")


def test_next_push_at_after_a_missed_day_is_todays_push_never_yesterdays():
    now = at("2025-03-12 06:00")  # bot was down all of the 11th
    assert next_push_at(now, "UTC", "09:00", date(2025, 3, 10)) == at("2025-03-12 09:00")


def test_next_push_at_skips_a_local_date_already_delivered_under_another_zone():
    # delivered for Tokyo's 2025-03-11; chat then moved to Los Angeles (still the 10th)
    now = at("2025-03-11 02:00")
    nxt = next_push_at(now, "America/Los_Angeles", "09:00", date(2025, 3, 11))
    assert nxt == push_instant(date(2025, 3, 12), "09:00", "America/Los_Angeles")


@pytest.mark.parametrize("text, expected", [("09:00", (9, 0)), ("9:05", (9, 5)),
                                            ("23:59", (23, 59)), (" 00:00 ", (0, 0))])
def test_parse_push_time_accepts_hh_mm(text, expected):
    parsed = parse_push_time(text)
    assert (parsed.hour, parsed.minute) == expected


@pytest.mark.parametrize("text", ["24:00", "12:60", "noon", "12", "", "1:2", "\u2460:00", "\u0661\u0662:\u0660\u0660"])
def test_parse_push_time_rejects_anything_else_with_a_helpful_message(text):
    with pytest.raises(ValueError, match=r"HH:MM|range"):
        parse_push_time(text)


@pytest.mark.parametrize("text, expected", [
    ("Europe/Berlin", "Europe/Berlin"),
    ("europe/berlin", "Europe/Berlin"),
    ("America/New_York", "America/New_York"),
    ("+05:30", "UTC+05:30"),
    ("+0530", "UTC+05:30"),
    ("-3", "UTC-03:00"),
    ("UTC+2", "UTC+02:00"),
    ("utc-09:30", "UTC-09:30"),
    ("GMT+5:45", "UTC+05:45"),
    ("+14", "UTC+14:00"),
    ("-12:00", "UTC-12:00"),
    ("+0", "UTC"),
    ("utc", "UTC"),
    ("Etc/GMT-5", "Etc/GMT-5"),
    ("  ASIA/KOLKATA ", "Asia/Kolkata"),
])
def test_parse_tz_accepts_iana_names_and_utc_offsets(text, expected):
    assert parse_tz(text) == expected
    assert parse_tz(expected) == expected  # stored names parse to themselves


@pytest.mark.parametrize("text", ["Mars/Olympus", "+15", "-13", "+5:75", "", "UTC+",
                                  "../../etc/passwd", "Berlin", "+\u2460", "UTC+\u0665"])
def test_parse_tz_rejects_unknown_zones_with_a_helpful_message(text):
    with pytest.raises(ValueError, match="IANA name"):
        parse_tz(text)


def test_stored_offset_names_reload_as_fixed_offsets():
    assert zone("UTC+05:30").utcoffset(None) == timedelta(hours=5, minutes=30)
    assert zone("UTC-03:00").utcoffset(None) == timedelta(hours=-3)


def test_etc_gmt_sign_is_inverted_which_is_why_offsets_are_stored_as_utc_plus():
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    assert moment.astimezone(zone("Etc/GMT-5")).utcoffset() == timedelta(hours=5)
    assert moment.astimezone(zone(parse_tz("+5"))).utcoffset() == timedelta(hours=5)


def test_zone_names_are_case_insensitive_whatever_the_file_system():
    assert zone("europe/berlin") == zone("Europe/Berlin")
    assert local_date(at("2025-03-10 23:30"), "EUROPE/BERLIN") == date(2025, 3, 11)


@pytest.mark.parametrize("text, expected", [("4", 4), (" 0 ", 0), ("23", 23), ("07", 7)])
def test_parse_small_int_reads_ascii_digits_in_range(text, expected):
    assert parse_small_int(text, 0, 23) == expected


@pytest.mark.parametrize("text", ["①", "²", "٤", "24", "-1", "4.5", "", "  ", "four",
                                  "9" * 5000])
def test_parse_small_int_is_none_for_anything_else_never_an_exception(text):
    # issue 18: "/daystart ①" crashed its handler: "①".isdigit() is True, int("①") raises.
    assert parse_small_int(text, 0, 23) is None


def test_no_daily_push_within_twelve_hours_of_the_last():
    from content.calendar import MIN_PUSH_GAP, next_push_at

    # 23:00 in Berlin, then the learner moves to Tokyo, where it is already 07:00 tomorrow.
    sent = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
    after_move = next_push_at(sent, "Asia/Tokyo", "09:00", date(2026, 3, 2), last_sent_at=sent)
    assert after_move >= sent + MIN_PUSH_GAP
    assert after_move == sent + MIN_PUSH_GAP  # later the same Tokyo day, not a day skipped
    # A late catch-up push (23:30) moves tomorrow's 09:00 to 11:30, it does not skip the day.
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert next_push_at(late, "UTC", "09:00", date(2026, 3, 2), last_sent_at=late) == late + MIN_PUSH_GAP
    # An ordinary day: 24 hours apart, untouched.
    nine = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert next_push_at(nine, "UTC", "09:00", date(2026, 3, 2), last_sent_at=nine) == nine + timedelta(days=1)
