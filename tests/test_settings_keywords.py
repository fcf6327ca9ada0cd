"""Settings given as keywords of every shape, and the warnings a bad variable gives."""

from __future__ import annotations

import warnings

import pytest

from threadcrash import ConfigurationWarning, _settings


def test_sources_given_as_a_list_or_a_set_are_those_sources() -> None:
    """instrument(sources=["thread", "asyncio"]) turns on exactly those two."""
    expected = frozenset({"thread", "asyncio"})
    assert _settings.load({"sources": ["thread", "asyncio"]}, {}).sources == expected
    assert _settings.load({"sources": {"thread", "asyncio"}}, {}).sources == expected


def test_a_list_of_disabled_instrumentations_is_read_item_by_item() -> None:
    """disabled_instrumentations=["flask", "threadcrash"] turns threadcrash off."""
    settings = _settings.load({"disabled_instrumentations": ["flask", "threadcrash"]}, {})
    assert settings.disabled
    assert _settings.load({"disabled_instrumentations": ["flask", "django"]}, {}).keywords()[
        "disabled_instrumentations"
    ] == ("flask", "django")


def test_exporters_given_as_a_list_are_those_exporters() -> None:
    """traces_exporter=["otlp", "console"] builds both; an empty list means none."""
    settings = _settings.load({"traces_exporter": ["otlp", "console"]}, {})
    assert settings.export("traces").exporter == ("otlp", "console")
    assert _settings.load({"traces_exporter": []}, {}).export("traces").exporter == ()


@pytest.mark.parametrize("value", [-1, -0.5, 10**9])
def test_a_number_out_of_range_given_as_a_keyword_raises(value: float) -> None:
    """instrument(rate_limit=-1) is a ValueError naming the option, as a bad string is."""
    with pytest.raises(ValueError, match=r"rate_limit=.*expected a number"):
        _settings.load({"rate_limit": value}, {})


def test_a_warning_names_the_default_as_the_readme_words_it() -> None:
    """A bad OTEL_TRACES_EXPORTER warns with the README's default, without its markup."""
    with pytest.warns(ConfigurationWarning) as caught:
        _settings.load({}, {"OTEL_TRACES_EXPORTER": "c*nsole!"})
    (warning,) = caught
    assert "OTEL_TRACES_EXPORTER='c*nsole!': 'c*nsole!' is not a name;" in str(warning.message)
    assert str(warning.message).endswith(
        "using the default (otlp when an OTLP endpoint for traces is set, else none)"
    )


def test_asking_for_an_unknown_signal_names_it() -> None:
    """Settings.export("trace") (a typo for traces) fails with the name it was given."""
    with pytest.raises(KeyError, match="trace"):
        _settings.load({}, {}).export("trace")


def test_a_blank_variable_is_the_same_as_an_unset_one() -> None:
    """THREADCRASH_RATE_LIMIT="  " gives the default, without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        blank = _settings.load({}, {"THREADCRASH_RATE_LIMIT": "  ", "OTEL_TRACES_EXPORTER": ""})
    assert blank == _settings.load({}, {})
