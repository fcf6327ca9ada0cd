"""Redaction at the edges: stack traces cut into pieces, overlapping rules, user patterns."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from threadcrash import _redact
from threadcrash._redact import REDACTED, Redactor

R = REDACTED
TOKEN = "ghp_" + "a1" * 20


def redact(text: str) -> str:
    return Redactor([])(text)


def test_a_chained_stack_trace_is_redacted_line_for_line() -> None:
    """A chained traceback with a multi-line message keeps every line; only the secrets go."""
    text = (
        "Traceback (most recent call last):\n"
        '  File "/app/db.py", line 3, in connect\n'
        "    login(user, secret)\n"
        "ValueError: 1 validation error for Settings\n"
        "password\n"
        "  Input should be a valid string [type=string_type, input_value=hunter2, input_type=int]\n"
        "\n"
        "The above exception was the direct cause of the following exception:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "/app/main.py", line 9, in <module>\n'
        f'    connect(token="{TOKEN}")\n'
        "RuntimeError: cannot connect\n"
        "as user deploy, password=hunter2\n"
    )
    expected = (
        text.replace("input_value=hunter2", f"input_value={R}")
        .replace(TOKEN, R)
        .replace("password=hunter2", f"password={R}")
    )
    assert redact(text) == expected


def test_a_stack_that_ends_in_a_frame_keeps_every_frame() -> None:
    """A stack (no exception line after it) keeps its last frame, with that frame's secrets gone."""
    text = (
        '  File "/app/main.py", line 9, in <module>\n'
        "    main()\n"
        '  File "/app/run.py", line 2, in main\n'
        '    connect("db", password="hunter2")\n'
    )
    assert redact(text) == text.replace('"db", password="hunter2"', f'"{R}", password="{R}"')


def test_an_empty_value_does_not_stop_the_secrets_after_it() -> None:
    """An empty value in libpq's `missing "=" after ""` does not hide a password after it."""
    text = 'missing "=" after "" in connection info string; password=hunter2'
    assert redact(text) == f'missing "=" after "" in connection info string; password={R}'


def test_an_upper_case_key_next_to_a_character_whose_lowercase_is_longer_is_found() -> None:
    """``İ`` beside ``PASSWORD=...``: the key is still found, whatever its case."""
    assert redact("İ PASSWORD=hunter2") == f"İ PASSWORD={R}"
    assert redact("İ Authorization: Bearer abcdef123456") == f"İ Authorization: Bearer {R}"


def test_a_word_ending_in_key_does_not_hide_a_real_key_after_it() -> None:
    """``monkey=banana`` is not a secret, and the ``api_key`` after it still is."""
    assert redact("monkey=banana api_key=s3cr3t") == f"monkey=banana api_key={R}"


def test_a_value_longer_than_the_token_inside_it_goes_whole() -> None:
    """An access key id that starts a longer value: the whole value goes, not just the id."""
    assert redact("key: AKIAABCDEFGHIJKLMNOP/wJalrXUt") == f"key: {R}"


def test_a_user_pattern_blanks_its_secret_group_not_its_first_group() -> None:
    """With a group named ``secret`` after another group, only the named one is replaced."""
    redactor = Redactor([re.compile(r"(user)=(?P<secret>\w+)")], defaults=False)
    assert redactor("login user=bob failed") == f"login user={R} failed"


def test_a_user_pattern_in_the_middle_of_a_text_keeps_what_follows() -> None:
    """A secret group found mid-message is replaced, and the text after it is kept as it was."""
    redactor = Redactor([re.compile(r"card=(\d{16}) ")], defaults=False)
    assert redactor("order 7: card=4111111111111111 declined") == f"order 7: card={R} declined"


class _RacedCache(dict[str, str]):
    """A full cache that another thread changes while this one evicts its oldest piece."""

    def __init__(self, race: type[Exception] | None) -> None:
        super().__init__({f"{index:064d}": "" for index in range(_redact._CACHED)})
        self._race = race

    def __iter__(self) -> Iterator[str]:
        if self._race is StopIteration:  # emptied by the other thread
            return iter(())
        if self._race is RuntimeError:  # resized by the other thread
            raise RuntimeError("dictionary changed size during iteration")
        return super().__iter__()

    def __delitem__(self, key: str) -> None:
        if self._race is KeyError:  # the other thread evicted that piece first
            raise KeyError(key)
        super().__delitem__(key)


@pytest.mark.parametrize("race", [KeyError, StopIteration, RuntimeError])
def test_a_redaction_survives_another_thread_evicting_from_the_cache(
    race: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two crashes redacting at once may both evict the oldest piece: neither one fails."""
    monkeypatch.setattr(_redact, "_cache", _RacedCache(race))
    text = "a message that is long enough to be cached, with password=hunter2 in it"
    assert redact(text) == f"a message that is long enough to be cached, with password={R} in it"


def test_a_private_key_in_a_message_that_starts_with_a_file_name_goes_whole() -> None:
    """``File "key.pem" is not valid: -----BEGIN ... KEY-----`` loses the key's body too."""
    body = ["MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oAIOawb4PnZzoAoGCCqGSM49", "AwEHoUQDQgAE"]
    key = "-----BEGIN EC PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END EC PRIVATE KEY-----"
    out = redact(f'File "/etc/app/key.pem" is not a valid key: {key}\nuse another one')
    assert out == f'File "/etc/app/key.pem" is not a valid key: {R}\nuse another one'


FRAMES = (
    '  File "/app/service/handlers/orders.py", line 120, in handle_order_request\n'
    "    result = process(order)\n"
    '  File "/app/service/handlers/payments.py", line 44, in charge_card_for_order\n'
    "    gateway.charge(card, amount)\n"
)


def chained_trace(order: int) -> str:
    return (
        "Traceback (most recent call last):\n"
        + FRAMES
        + "KeyError: 'card'\n"
        + "\nThe above exception was the direct cause of the following exception:\n\n"
        + "Traceback (most recent call last):\n"
        + FRAMES
        + f"ValueError: card declined for order {order}\n"
    )


def counting_redactions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the default rules are run on from now on (the cache starts empty)."""
    texts: list[str] = []
    real = _redact._redact_text

    def counted(text: str) -> str:
        texts.append(text)
        return real(text)

    monkeypatch.setattr(_redact, "_redact_text", counted)
    monkeypatch.setattr(_redact, "_cache", {})
    return texts


def test_a_frame_seen_in_one_crash_is_not_redacted_again_in_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each frame of a stack trace is kept on its own: the next crash redacts only what is new."""
    texts = counting_redactions(monkeypatch)
    first = redact(chained_trace(12))
    assert first == chained_trace(12)
    texts.clear()
    assert redact(chained_trace(13)) == chained_trace(13)
    # the header is too short to keep; the frames and the text between the chained
    # exceptions were kept from the first crash
    assert texts == [
        "Traceback (most recent call last):\n",
        "ValueError: card declined for order 13\n",
    ]


def test_texts_from_64_to_1024_characters_are_redacted_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message of 64 to 1024 characters seen again is not redacted again; others are."""
    texts = counting_redactions(monkeypatch)
    for length in (63, 64, 1024, 1025):
        message = "x" * length
        assert redact(message) == redact(message) == message
    assert [len(text) for text in texts] == [63, 63, 64, 1024, 1025, 1025]


def test_a_message_that_starts_with_a_file_name_is_cut_at_its_first_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``File "..."`` opening a message is read as a frame line: it is kept apart from the rest."""
    texts = counting_redactions(monkeypatch)
    first = 'File "/etc/app.yaml" is shadowed by File "/etc/app.local.yaml"\n'
    assert redact(first + "using the defaults") == first + "using the defaults"
    assert texts == [first, "using the defaults"]


def test_the_frames_inside_an_exception_group_are_kept_apart_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a group's stack trace (lines under ``|``), frames seen before are not redacted again."""
    texts = counting_redactions(monkeypatch)

    def group_trace(job: int) -> str:
        return (
            "  + Exception Group Traceback (most recent call last):\n"
            '  |   File "/app/service/runner.py", line 31, in run_all_the_jobs\n'
            '  |     raise ExceptionGroup("jobs failed", errors)\n'
            "  | ExceptionGroup: jobs failed (1 sub-exception)\n"
            "  +-+---------------- 1 ----------------\n"
            "    | Traceback (most recent call last):\n"
            '    |   File "/app/service/jobs.py", line 9, in run_one_job_of_the_batch\n'
            '    |     raise ValueError(f"job {n} failed")\n'
            f"    | ValueError: job {job} failed\n"
            "    +------------------------------------\n"
        )

    assert redact(group_trace(12)) == group_trace(12)
    texts.clear()
    assert redact(group_trace(13)) == group_trace(13)
    assert texts
    assert not [text for text in texts if 'File "' in text]
