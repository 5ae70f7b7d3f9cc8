"""Validation and normalisation of what a customer types: e-mail, phone, locale, name."""

from __future__ import annotations

import re

from gateway.domain.errors import validation_error

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
_LOCALE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2}|[-_][0-9]{3})?$")


def normalize_email(value: object) -> str:
    """Lower-cased e-mail; 422 `validation_error` on field `email` otherwise."""
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.match(value.strip()):
        raise validation_error("email", "email is not a valid e-mail address")
    return value.strip().lower()


def normalize_phone(value: object) -> str:
    """E.164 phone (spaces, dashes and brackets removed)."""
    if not isinstance(value, str):
        raise validation_error("phone", "phone must be a string in E.164 form, like +15551234567")
    compact = re.sub(r"[\s().-]", "", value)
    if not _PHONE.match(compact):
        raise validation_error("phone", "phone must be in E.164 form, like +15551234567")
    return compact


def normalize_locale(value: object) -> str:
    """A BCP 47 language tag such as `en` or `pt-BR` (default `en`)."""
    if value is None:
        return "en"
    if not isinstance(value, str) or not _LOCALE.match(value):
        raise validation_error("locale", "locale must be a language tag such as en or pt-BR")
    language, _, region = value.replace("_", "-").partition("-")
    return f"{language}-{region.upper()}" if region else language


def normalize_name(value: object) -> str:
    """A display name of at most 120 printable characters (optional)."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 120 or not value.isprintable():
        raise validation_error("name", "name must be printable text of at most 120 characters")
    return value.strip()
