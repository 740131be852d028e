"""Templates: variables with defaults, deterministic spintax, literal braces, syntax errors."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach_tui.core.errors import InputError
from outreach_tui.core.templates import (
    MissingVariable,
    TemplateSyntaxError,
    check_template,
    render,
    template_variables,
)


def test_variable_is_replaced_by_its_value():
    assert render("Hi {{first_name}},", {"first_name": "Anna"}, "s") == "Hi Anna,"


def test_non_string_value_is_rendered_with_str():
    assert render("{{n}} seats", {"n": 12}, "s") == "12 seats"


def test_zero_is_a_value_not_missing():
    assert render("{{n}}", {"n": 0}, "s") == "0"


def test_names_are_case_insensitive_and_whitespace_inside_braces_is_ignored():
    values = {"Company": "Acme"}
    assert render("{{company}}/{{ COMPANY }}/{{Company }}", values, "s") == "Acme/Acme/Acme"


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
def test_none_empty_or_blank_value_uses_the_default(value):
    assert render("Hi {{first_name|there}}!", {"first_name": value}, "s") == "Hi there!"


def test_absent_variable_uses_the_default():
    assert render("Hi {{first_name | there }}!", {}, "s") == "Hi there!"


def test_empty_default_renders_nothing():
    assert render("Hi{{x|}}!", {}, "s") == "Hi!"


def test_missing_variable_without_default_names_the_variable():
    with pytest.raises(MissingVariable) as info:
        render("At {{Company}}", {"company": " "}, "s")
    assert info.value.name == "company"
    assert str(info.value) == "missing variable {{company}} (no value and no default)"
    assert isinstance(info.value, InputError)


def test_missing_variable_reports_the_first_in_template_order():
    with pytest.raises(MissingVariable) as info:
        render("{{b}} {{a}} {{c}}", {"c": "x"}, "s")
    assert info.value.name == "b"


def test_missing_variable_in_an_unchosen_option_is_not_an_error():
    template = "{{{a}}|plain}"
    seeds_plain = [s for s in map(str, range(50)) if render(template, {"a": "A"}, s) == "plain"]
    assert seeds_plain
    assert render(template, {}, seeds_plain[0]) == "plain"


def test_text_without_braces_passes_through_unchanged():
    text = "Hello,\r\nno braces here | just a bar \\ and a backslash"
    assert render(text, {}, "s") == text


def test_same_seed_gives_the_same_text():
    template = "{Hi|Hello|Hey} {{name}}, {quick|short} {question|note}"
    first = render(template, {"name": "Bo"}, "campaign-1:lead-7:step-0")
    assert all(
        render(template, {"name": "Bo"}, "campaign-1:lead-7:step-0") == first for _ in range(5)
    )


def test_choice_is_pinned_across_processes_and_versions():
    # sha256-based: these exact outputs must never change, or previews would stop matching sends.
    assert render("{a|b|c}{d|e|f}{g|h|i}", {}, "pinned") == "cei"


def test_different_seeds_spread_over_all_options():
    counts = Counter(render("{Hi|Hello|Hey}", {}, f"seed-{i}") for i in range(1000))
    assert set(counts) == {"Hi", "Hello", "Hey"}
    assert min(counts.values()) >= 200


def test_groups_at_different_positions_choose_independently():
    outputs = {render("{a|b}{a|b}", {}, str(i)) for i in range(100)}
    assert outputs == {"aa", "ab", "ba", "bb"}


def test_nested_spintax_resolves_to_one_leaf():
    outputs = {render("{Hi {there|friend}|Hello}", {}, str(i)) for i in range(200)}
    assert outputs == {"Hi there", "Hi friend", "Hello"}


def test_group_may_start_with_a_nested_group():
    outputs = {render("{{Hi|Hey} there|Hello}", {}, str(i)) for i in range(200)}
    assert outputs == {"Hi there", "Hey there", "Hello"}


def test_placeholder_inside_spintax_option():
    outputs = {
        render("{Hi {{name}}|Hello {{name|you}}}", {"name": "Jo"}, str(i)) for i in range(50)
    }
    assert outputs == {"Hi Jo", "Hello Jo"}


def test_empty_option_is_allowed():
    outputs = {render("Hi{ there|}!", {}, str(i)) for i in range(50)}
    assert outputs == {"Hi there!", "Hi!"}


def test_value_is_never_parsed_as_spintax_or_placeholder():
    values = {"company": "{A|B}", "other": "{{first_name}}"}
    for seed in map(str, range(20)):
        assert render("{{company}} {{other}}", values, seed) == "{A|B} {{first_name}}"


def test_default_is_not_parsed_as_spintax():
    assert render("{{x|a\\{b\\}}}", {}, "s") == "a{b}"


def test_escaped_braces_are_literal():
    assert render('json: \\{"a": 1\\}', {}, "s") == 'json: {"a": 1}'
    check_template("\\{ and \\}")


def test_escaped_bar_inside_a_group_is_literal():
    outputs = {render("{a\\|b|c}", {}, str(i)) for i in range(50)}
    assert outputs == {"a|b", "c"}


def test_values_keep_cr_lf_for_the_header_check_downstream():
    assert render("{{s}}", {"s": "x\r\nBcc: y"}, "s") == "x\r\nBcc: y"


@pytest.mark.parametrize(
    ("template", "offset"),
    [
        ("Hi { there", 3),
        ("Hi } there", 3),
        ("Hi {{name} there", 3),
        ("{a|b}}", 5),
        ("ok {{name", 3),
        ("{{}}", 0),
        ("x {{first name}}", 2),
        ("x {single}", 2),
        ("x {}", 2),
    ],
)
def test_syntax_error_says_where(template, offset):
    with pytest.raises(TemplateSyntaxError) as info:
        check_template(template)
    assert info.value.offset == offset
    assert f"character {offset}" in str(info.value)


def test_single_option_group_is_rejected_as_a_likely_typo():
    with pytest.raises(TemplateSyntaxError, match="did you mean"):
        check_template("Hi {first_name}")


def test_render_raises_syntax_error_too():
    with pytest.raises(TemplateSyntaxError):
        render("Hi {there", {}, "s")


def test_absurd_nesting_is_a_syntax_error_not_a_crash():
    with pytest.raises(TemplateSyntaxError, match="nested"):
        check_template("{a|" * 2000 + "b" + "}" * 2000)


def test_template_variables_lists_every_name_normalised():
    template = "{{First_Name}} {Hi {{ company }}|Yo {{x|y}}} {{first_name}}"
    assert template_variables(template) == frozenset({"first_name", "company", "x"})


def test_template_variables_of_plain_text_is_empty():
    assert template_variables("hello") == frozenset()


@given(template=st.text(), seed=st.text(), value=st.text())
def test_render_never_crashes_on_any_text(template, seed, value):
    try:
        result = render(template, {"name": value, "company": None}, seed)
    except (TemplateSyntaxError, MissingVariable):
        return
    assert isinstance(result, str)


brace_heavy = st.text(alphabet="{}|\\ab {{}}name", max_size=40)


@given(template=brace_heavy, seed=st.text(max_size=10))
def test_render_never_crashes_on_brace_heavy_text(template, seed):
    try:
        result = render(template, {"name": "{x|y}", "a": "{{b}}"}, seed)
    except (TemplateSyntaxError, MissingVariable):
        return
    assert isinstance(result, str)


@given(st.text(alphabet=st.characters(blacklist_characters="{}")))
def test_text_without_braces_renders_to_itself(text):
    assert render(text, {}, "seed") == text
