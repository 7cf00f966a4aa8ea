"""The recipient's language: NOTIFY_RECIPIENT_LANGUAGE, matched to LANGUAGES, LANGUAGE_CODE
otherwise; and the system checks of the setting and of Jinja2 engines that cannot translate."""

from types import SimpleNamespace

from django.test import SimpleTestCase, override_settings

from spire_notify.channels.email.checks import check_jinja2_translates
from spire_notify.checks import check_recipient_language
from spire_notify.i18n import group_by_language, language_for

NOT_CALLABLE = "not a function"


def language_of(recipient):
    """A project's chooser: users carry a ``language``; guests at .de addresses read German."""
    if isinstance(recipient, str):
        return "de" if recipient.endswith(".de") else None
    return recipient.language


def jinja2_engine(**options):
    return {"BACKEND": "django.template.backends.jinja2.Jinja2", "APP_DIRS": True, "OPTIONS": options}


@override_settings(LANGUAGE_CODE="en")
class LanguageForTests(SimpleTestCase):
    def test_default_is_language_code(self):
        assert language_for(SimpleNamespace(language="de")) == "en"
        with override_settings(LANGUAGE_CODE="de"):
            assert language_for("guest@example.org") == "de"

    @override_settings(NOTIFY_RECIPIENT_LANGUAGE=f"{__name__}.language_of")
    def test_the_chooser_decides_and_codes_match_languages(self):
        assert language_for(SimpleNamespace(language="de")) == "de"
        assert language_for(SimpleNamespace(language="de-at")) == "de"
        assert language_for(SimpleNamespace(language="pt-br")) == "pt-br"
        assert language_for("gast@example.de") == "de"

    @override_settings(NOTIFY_RECIPIENT_LANGUAGE=f"{__name__}.language_of")
    def test_no_answer_or_an_unknown_code_falls_back_to_language_code(self):
        assert language_for(SimpleNamespace(language=None)) == "en"
        assert language_for(SimpleNamespace(language="")) == "en"
        assert language_for(SimpleNamespace(language="xx-unknown")) == "en"
        assert language_for("guest@example.org") == "en"

    @override_settings(NOTIFY_RECIPIENT_LANGUAGE=f"{__name__}.language_of", LANGUAGES=[("en", "English")])
    def test_a_language_outside_languages_falls_back(self):
        assert language_for(SimpleNamespace(language="de")) == "en"

    @override_settings(NOTIFY_RECIPIENT_LANGUAGE=f"{__name__}.language_of")
    def test_group_by_language_keeps_order_so_each_language_renders_once(self):
        ann, bert, cleo = (SimpleNamespace(language=code) for code in ["en", "de", "en-gb"])
        assert group_by_language([ann, bert, "gast@example.de", cleo]) == {
            "en": [ann],
            "de": [bert, "gast@example.de"],
            "en-gb": [cleo],
        }


class RecipientLanguageCheckTests(SimpleTestCase):
    def test_unset_or_a_callable_is_fine(self):
        assert check_recipient_language() == []
        with override_settings(NOTIFY_RECIPIENT_LANGUAGE=f"{__name__}.language_of"):
            assert check_recipient_language() == []

    @override_settings(NOTIFY_RECIPIENT_LANGUAGE="tests.nowhere.language_of")
    def test_a_path_that_does_not_import_is_e040(self):
        [error] = check_recipient_language()
        assert error.id == "spire_notify.E040"
        assert error.msg.startswith(
            "NOTIFY_RECIPIENT_LANGUAGE: could not import 'tests.nowhere.language_of': "
        )

    @override_settings(NOTIFY_RECIPIENT_LANGUAGE=f"{__name__}.NOT_CALLABLE")
    def test_something_not_callable_is_e041(self):
        [error] = check_recipient_language()
        assert (error.id, error.msg) == (
            "spire_notify.E041",
            f"NOTIFY_RECIPIENT_LANGUAGE: '{__name__}.NOT_CALLABLE' is not callable.",
        )


class Jinja2TranslatesCheckTests(SimpleTestCase):
    def test_the_test_settings_translate(self):
        assert check_jinja2_translates() == []

    def test_an_engine_without_translations_is_e042(self):
        engines = [jinja2_engine() | {"NAME": "plain"}, jinja2_engine(extensions=["jinja2.ext.i18n"])]
        with override_settings(TEMPLATES=engines):
            errors = check_jinja2_translates()
        assert [error.id for error in errors] == ["spire_notify.E042", "spire_notify.E042"]
        assert errors[0].msg == (
            "The Jinja2 engine 'plain' does not translate, so it cannot render spire-notify's email "
            "templates (they use {% trans %})."
        )

    def test_an_engine_without_the_templates_is_not_concerned(self):
        engine = {"BACKEND": "django.template.backends.jinja2.Jinja2", "APP_DIRS": False, "DIRS": []}
        with override_settings(TEMPLATES=[engine]):
            assert check_jinja2_translates() == []

    def test_a_projects_own_environment_passes_once_translations_are_installed(self):
        engine = jinja2_engine(environment=f"{__name__}.own_environment")
        with override_settings(TEMPLATES=[engine]):
            assert check_jinja2_translates() == []


def own_environment(**options):
    from jinja2 import Environment

    from spire_notify.jinja2_env import install_translations

    return install_translations(Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do"], **options))
