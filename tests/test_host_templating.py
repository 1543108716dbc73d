from host.templating import duration, isodatetime, isotime, timeago


def test_timeago_is_coarse():
    now = 1_800_000_000
    assert timeago(now - 5, now) == "just now"
    assert timeago(now - 59, now) == "just now"
    assert timeago(now - 61, now) == "1 min ago"
    assert timeago(now - 3 * 3600 - 5, now) == "3 h ago"
    assert timeago(now - 2 * 86400, now) == "2 d ago"
    assert timeago(now + 600, now) == "in 10 min"
    assert timeago(None, now) == "—" and timeago("x", now) == "—" and timeago(True, now) == "—"


def test_duration_and_iso():
    assert duration(45) == "45 s"
    assert duration(192) == "3 min 12 s"
    assert duration(180) == "3 min"
    assert duration(7500) == "2 h 5 min"
    assert duration(None) == "—" and duration(-1) == "—"
    assert isotime(0) == "1970-01-01 00:00:00 UTC"
    assert isodatetime(1_800_000_000) == "2027-01-15T08:00:00Z"
    assert isotime(None) == ""


def test_timetag_is_stable_markup():
    from host.templating import timetag

    html = timetag(1_800_000_000)
    assert html == ('<time datetime="2027-01-15T08:00:00Z" title="2027-01-15 08:00:00 UTC" '
                    'data-relative>2027-01-15 08:00:00 UTC</time>')
    assert timetag(None) == "—"


def test_iso_strings_are_times_too():
    assert isotime("2027-01-15T08:00:00.000Z") == "2027-01-15 08:00:00 UTC"
    assert isotime("2027-01-15T08:00:00") == "2027-01-15 08:00:00 UTC"
    assert timeago("not a time", 0) == "—"
