"""The Simplified Chinese catalog is complete, compiled and used by the pages.

`make messages` (part of `make test`) compiles locale/*/LC_MESSAGES/django.po into the .mo files
that Django loads; after `make makemessages` every new entry must be translated before commit.
"""

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings as django_settings
from django.utils import translation

PO_FILE = Path(django_settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")
CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]|\{\w*\}")


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.msgctxt}|{self.msgid!r}" if self.msgctxt is not None else repr(self.msgid)


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], flags.

    A quoted line continues the keyword before it; obsolete (#~) entries are left out.
    """
    entries: list[Entry] = []
    entry = Entry()
    current: tuple[str, int] | None = None  # (keyword, plural index) the next "..." extends
    seen_keyword = False

    def finish() -> None:
        nonlocal entry, current, seen_keyword
        if seen_keyword:
            entries.append(entry)
        entry, current, seen_keyword = Entry(), None, False

    for line in text.splitlines():
        line = line.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            if seen_keyword:  # comments open a new entry even without a blank line
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            if seen_keyword:
                finish()
        elif line.startswith('"'):
            assert current is not None, f"continuation line without a keyword: {line}"
            _append(entry, current, ast.literal_eval(line))
        else:
            keyword, _, rest = line.partition(" ")
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if keyword in ("msgctxt", "msgid") and entry.msgstr:
                finish()  # the next entry starts without a blank line
            current = ("msgstr", int(match[1])) if match else (keyword, 0)
            seen_keyword = True
            _start(entry, current)
            _append(entry, current, ast.literal_eval(rest))
    finish()
    return entries


def _start(entry: Entry, current: tuple[str, int]) -> None:
    keyword, index = current
    if keyword == "msgstr":
        entry.msgstr[index] = ""
    elif keyword in ("msgctxt", "msgid_plural"):
        setattr(entry, keyword, "")


def _append(entry: Entry, current: tuple[str, int], value: str) -> None:
    keyword, index = current
    if keyword == "msgstr":
        entry.msgstr[index] += value
    elif keyword in ("msgid", "msgctxt", "msgid_plural"):
        setattr(entry, keyword, getattr(entry, keyword) + value)
    else:
        raise AssertionError(f"unknown keyword in {PO_FILE.name}: {keyword}")


def _catalog() -> list[Entry]:
    assert PO_FILE.exists(), f"{PO_FILE} is missing: run `make makemessages` and translate it"
    return parse_po(PO_FILE.read_text(encoding="utf-8"))


def test_parser_reads_multiline_plural_and_context_entries():
    entries = parse_po(
        'msgid ""\nmsgstr ""\n"Language: zh_Hans\\n"\n\n'
        '#: a.py:1\n#, python-format\nmsgid ""\n"one %(n)s "\n"line"\n'
        'msgid_plural "%(n)s lines"\nmsgstr[0] ""\n"%(n)s 行"\n\n'
        'msgctxt "gender"\nmsgid "Other"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Save"\nmsgstr "保存"\n'
    )
    header, plural, other, save = entries
    assert header.msgstr == {0: "Language: zh_Hans\n"}
    assert plural.msgid == "one %(n)s line"
    assert plural.msgid_plural == "%(n)s lines"
    assert plural.msgstr == {0: "%(n)s 行"}
    assert plural.flags == {"python-format"}
    assert (other.msgctxt, other.msgid, other.msgstr) == ("gender", "Other", {0: ""})
    assert "fuzzy" in save.flags


def test_catalog_is_completely_translated_and_not_fuzzy():
    entries = _catalog()
    header = next(entry for entry in entries if entry.msgid == "" and entry.msgctxt is None)
    messages = [entry for entry in entries if entry is not header]
    assert messages, f"{PO_FILE} has no messages"

    untranslated = [e.label for e in messages if not e.msgstr or not all(e.msgstr.values())]
    fuzzy = [e.label for e in entries if "fuzzy" in e.flags]
    assert not untranslated, "Untranslated entries in zh_Hans:\n" + "\n".join(untranslated)
    assert not fuzzy, "Fuzzy entries in zh_Hans (check, then drop the flag):\n" + "\n".join(fuzzy)

    header_text = header.msgstr[0]
    assert "Language: zh_Hans\n" in header_text
    assert "charset=UTF-8" in header_text
    assert "Plural-Forms: nplurals=1; plural=0;" in header_text


def test_translations_keep_the_placeholders():
    wrong = []
    for entry in _catalog():
        if not entry.msgid:
            continue
        # Chinese has one plural form, which translates the English plural.
        expected = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for translated in entry.msgstr.values():
            if translated and sorted(PLACEHOLDER.findall(translated)) != expected:
                wrong.append(f"{entry.label} -> {translated!r}")
    assert not wrong, "Placeholders differ from the English:\n" + "\n".join(wrong)


def test_compiled_catalog_is_active():
    assert MO_FILE.exists(), f"{MO_FILE} is missing: run `make messages`"
    with translation.override("zh-hans"):
        assert translation.gettext("Customers") == "客户"
        assert translation.gettext("Log in") == "登录"
        for english in ("Lead", "Repeat customer", "Churned", "Owner", "Marketing consent"):
            assert CJK.search(translation.gettext(english)), english
        # The same English word under different contexts gets its own translation.
        assert translation.pgettext("id document", "Other") != "Other"
        assert translation.pgettext("source channel", "Other") != "Other"
    with translation.override("en"):
        assert translation.gettext("Customers") == "Customers"


def _login_page_settings(settings) -> None:
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SECURE_SSL_REDIRECT = False
    # Without DEBUG the manifest storage needs collectstatic; the page's {% static %} must not.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_login_page_follows_accept_language(client, settings):
    _login_page_settings(settings)

    chinese = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")

    assert chinese.status_code == 200
    page = chinese.content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录" in page
    assert "Log in" not in page
    assert "Log in" in english.content.decode()


def test_language_switch_sets_cookie_and_page_language(client, settings):
    _login_page_settings(settings)

    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    # The cookie now wins over the browser's language.
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "登录" in page
    assert "Log in" not in page
