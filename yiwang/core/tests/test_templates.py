"""No template shows its own comments to users.

Django's ``{# … #}`` ends on the line it starts; one spanning lines is not a comment
but text, and the page prints it (the operator's intake panel once did). Longer notes
go in ``{% comment %}``.
"""

from pathlib import Path

from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parents[2]


def test_every_comment_in_a_template_is_one():
    templates = sorted(ROOT.glob("*/templates/**/*.html")) + sorted(ROOT.glob("templates/**/*.html"))
    assert templates
    shown = []
    for path in templates:
        for token in Lexer(path.read_text(encoding="utf-8")).tokenize():
            if token.token_type == TokenType.TEXT and "{#" in token.contents:
                shown.append(f"{path.relative_to(ROOT)}:{token.lineno}")
    assert shown == []
