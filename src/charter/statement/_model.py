"""The rendered statement as data: sections of paragraphs and lists of sentences, each with its sources.

Keeping the statement as data before it becomes Markdown, HTML or text is what lets Charter prove that
every sentence comes from a charter field (each :class:`Sentence` names the TOML paths it was made
from) and lets the trust page put live evidence beside each section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

__all__ = ["Block", "Bullets", "Paragraph", "Section", "Sentence", "Statement"]


@dataclass(frozen=True)
class Sentence:
    """One sentence and the charter fields it says.

    Attributes:
        text: the sentence, plain text (renderers escape it).
        sources: TOML paths in dotted form (``retention.tenant_data_after_uninstall``); never empty.
    """

    text: str
    sources: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError(f"sentence without a source field: {self.text!r}")


@dataclass(frozen=True)
class Paragraph:
    """Sentences shown as running text."""

    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Bullets:
    """Sentences shown as a list, optionally introduced by a lead sentence."""

    items: tuple[Sentence, ...]
    lead: Sentence | None = None


Block = Paragraph | Bullets


@dataclass(frozen=True)
class Section:
    """A titled section, e.g. "Backups and recovery".

    Attributes:
        id: a stable anchor (``backups``), used in URLs and by the evidence checks.
        title: the heading.
        blocks: paragraphs and lists, in order.
    """

    id: str
    title: str
    blocks: tuple[Block, ...]

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        """Every sentence of the section, in order."""
        out: list[Sentence] = []
        for block in self.blocks:
            if isinstance(block, Paragraph):
                out.extend(block.sentences)
            else:
                if block.lead is not None:
                    out.append(block.lead)
                out.extend(block.items)
        return tuple(out)


@dataclass(frozen=True)
class Statement:
    """A whole Data Security & Privacy Statement."""

    title: str
    vendor: str
    version: str
    effective: date
    language: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        """Every sentence of the statement, in order."""
        return tuple(s for section in self.sections for s in section.sentences)

    def section(self, section_id: str) -> Section:
        """The section with ``section_id``.

        Raises:
            KeyError: no such section in this statement.
        """
        for section in self.sections:
            if section.id == section_id:
                return section
        raise KeyError(section_id)
