"""Masking of personal data for roles that do not need it."""

from __future__ import annotations


def mask_name(name: str) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    digits = phone or ""
    if len(digits) >= 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


def mask_address(address: str) -> str:
    """Keep the road or estate, hide the house and room number (the digits)."""
    if not address:
        return ""
    out, seen_digit = [], False
    for ch in address:
        if ch.isdigit():
            seen_digit = True
            out.append("*")
        else:
            out.append(ch)
    masked = "".join(out)
    return masked if seen_digit else address[: max(2, len(address) // 2)] + "***"
