"""The built-in data-category taxonomy.

Hierarchical dot keys in the manner of fideslang (``user.contact.email``): a charter's data inventory
tags every item with one of these keys, and the statement lists exactly what is stored from them.
Every key under ``user`` is personal data (it relates to an identifiable person, GDPR Art. 4(1));
``system`` and ``customer`` keys are not personal by themselves.

A parent key (``user.contact``) may be used where the vendor does not want to be more precise; it
covers all its children, which matters for "we never store ..." lists.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORIES", "Category", "category", "covers", "is_personal"]


@dataclass(frozen=True)
class Category:
    """One data category.

    Attributes:
        key: the dot key, e.g. ``user.contact.email``.
        label: a short plural noun phrase used in rendered statements ("e-mail addresses").
        description: what belongs in it.
    """

    key: str
    label: str
    description: str

    @property
    def personal(self) -> bool:
        """Whether data of this category is personal data."""
        return is_personal(self.key)


_ENTRIES: tuple[tuple[str, str, str], ...] = (
    ("system", "system data", "Data about the service and the customer's installation, not about people."),
    ("system.tenant", "installation data", "Data identifying and connecting to a customer's Atlassian site."),
    (
        "system.tenant.identifier",
        "the unique id of your Atlassian site or installation",
        "cloudId, clientKey, installationId, workspaceId.",
    ),
    ("system.tenant.url", "the address of your Atlassian site", "The site's base URL or API base URL."),
    (
        "system.tenant.credentials",
        "the access keys for your Atlassian site",
        "Connect shared secrets and other keys the app needs to call the product for the site.",
    ),
    ("system.tenant.license", "licence and entitlement data", "Licence state, entitlement ids, edition."),
    (
        "system.tenant.configuration",
        "app settings",
        "Configuration of the app made by the site's administrators.",
    ),
    ("system.operations", "operational data", "Data the service produces about itself."),
    ("system.operations.logs", "service logs", "Application and access logs of the vendor's service."),
    ("system.operations.metrics", "service metrics", "Aggregate performance and health metrics."),
    ("customer", "customer content", "Content of the customer's Atlassian products."),
    ("customer.content", "product content", "Content created in the customer's Atlassian products."),
    ("customer.content.issue", "issue data", "Jira issues and their fields."),
    ("customer.content.page", "page data", "Confluence pages and blog posts."),
    ("customer.content.comment", "comments", "Comments on issues or pages."),
    ("customer.content.attachment", "attachments", "Files attached to issues or pages."),
    ("customer.configuration", "product configuration", "Projects, workflows, spaces and their settings."),
    ("user", "personal data", "Data relating to an identifiable person."),
    ("user.account", "account data", "Data identifying a person's Atlassian account."),
    ("user.account.id", "Atlassian account ids", "The opaque Atlassian accountId of a person."),
    ("user.account.name", "display names", "A person's Atlassian display name."),
    ("user.account.avatar", "avatar images", "A person's profile picture or its URL."),
    ("user.contact", "contact details", "Ways to reach a person."),
    ("user.contact.name", "names", "A person's first and last name."),
    ("user.contact.email", "e-mail addresses", "A person's e-mail address."),
    ("user.contact.phone", "phone numbers", "A person's phone number."),
    ("user.contact.organization", "company names", "The organisation a contact person works for."),
    ("user.credentials", "user credentials", "Passwords, API tokens and session cookies of a person."),
    ("user.device", "device data", "Data about a person's device or connection."),
    ("user.device.ip_address", "IP addresses", "The IP address a person connected from."),
    ("user.device.cookie_id", "cookie identifiers", "Identifiers stored in a person's browser."),
    ("user.behavior", "usage data", "What a person did in the app."),
    ("user.behavior.usage", "usage analytics", "Events describing how a person uses the app."),
    ("user.content", "content provided by people", "Content a person wrote or sent."),
    (
        "user.content.generated",
        "content users create in the app",
        "Notes, comments or records made in the app.",
    ),
    ("user.content.support", "support data", "What a person sends to the vendor's support."),
    (
        "user.content.support.communication",
        "support communications",
        "E-mails, tickets and replies exchanged with support.",
    ),
    (
        "user.content.support.attachment",
        "support attachments",
        "Logs, screenshots, HAR files and configuration excerpts sent to support.",
    ),
    ("user.financial", "financial data", "Payment and billing details of a person."),
    ("user.financial.payment_card", "payment card numbers", "Card numbers and related data."),
)

CATEGORIES: dict[str, Category] = {key: Category(key, label, desc) for key, label, desc in _ENTRIES}


def category(key: str) -> Category:
    """Return the category with ``key``.

    Raises:
        KeyError: ``key`` is not in the taxonomy.
    """
    return CATEGORIES[key]


def is_personal(key: str) -> bool:
    """Whether ``key`` names personal data (it is ``user`` or under it)."""
    return key == "user" or key.startswith("user.")


def covers(general: str, specific: str) -> bool:
    """Whether category ``general`` is ``specific`` or one of its ancestors."""
    return specific == general or specific.startswith(general + ".")
