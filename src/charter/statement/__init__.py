"""What Charter publishes: the statement, security.txt and the Marketplace answers, from one charter.

``build_statement`` turns a :class:`~charter.policy.Charter` into a :class:`Statement` whose every sentence
names the charter fields it states; ``render`` writes it as Markdown, HTML or text.
"""

from charter.statement._build import SECTION_TITLES, build_statement
from charter.statement._marketplace import marketplace_answers
from charter.statement._model import Bullets, Paragraph, Section, Sentence, Statement
from charter.statement._render import FORMATS, render, stylesheet
from charter.statement._securitytxt import render_security_txt

__all__ = [
    "FORMATS",
    "SECTION_TITLES",
    "Bullets",
    "Paragraph",
    "Section",
    "Sentence",
    "Statement",
    "build_statement",
    "marketplace_answers",
    "render",
    "render_security_txt",
    "stylesheet",
]
