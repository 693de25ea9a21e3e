"""Hosting providers and the regions a charter may name for them, with readable names.

Only providers whose region codes are well known are checked; for the others any code is accepted
and shown as written. Sources: the providers' public region lists (AWS "Regions and Zones", Azure
"Azure geographies", Google Cloud "Geography and regions").
"""

from __future__ import annotations

__all__ = ["PROVIDERS", "region_name"]

PROVIDERS: dict[str, str] = {
    "atlassian": "Atlassian",
    "aws": "Amazon Web Services (AWS)",
    "azure": "Microsoft Azure",
    "gcp": "Google Cloud",
    "hetzner": "Hetzner",
    "digitalocean": "DigitalOcean",
    "ovh": "OVHcloud",
    "on-premises": "our own premises",
    "other": "another provider",
}

_REGIONS: dict[str, dict[str, str]] = {
    "aws": {
        "us-east-1": "US East (N. Virginia)",
        "us-east-2": "US East (Ohio)",
        "us-west-1": "US West (N. California)",
        "us-west-2": "US West (Oregon)",
        "ca-central-1": "Canada (Central)",
        "ca-west-1": "Canada West (Calgary)",
        "eu-central-1": "Europe (Frankfurt)",
        "eu-central-2": "Europe (Zurich)",
        "eu-west-1": "Europe (Ireland)",
        "eu-west-2": "Europe (London)",
        "eu-west-3": "Europe (Paris)",
        "eu-north-1": "Europe (Stockholm)",
        "eu-south-1": "Europe (Milan)",
        "eu-south-2": "Europe (Spain)",
        "ap-southeast-1": "Asia Pacific (Singapore)",
        "ap-southeast-2": "Asia Pacific (Sydney)",
        "ap-southeast-3": "Asia Pacific (Jakarta)",
        "ap-southeast-4": "Asia Pacific (Melbourne)",
        "ap-northeast-1": "Asia Pacific (Tokyo)",
        "ap-northeast-2": "Asia Pacific (Seoul)",
        "ap-northeast-3": "Asia Pacific (Osaka)",
        "ap-south-1": "Asia Pacific (Mumbai)",
        "ap-south-2": "Asia Pacific (Hyderabad)",
        "ap-east-1": "Asia Pacific (Hong Kong)",
        "sa-east-1": "South America (São Paulo)",
        "me-south-1": "Middle East (Bahrain)",
        "me-central-1": "Middle East (UAE)",
        "il-central-1": "Israel (Tel Aviv)",
        "af-south-1": "Africa (Cape Town)",
    },
    "azure": {
        "eastus": "East US (Virginia)",
        "eastus2": "East US 2 (Virginia)",
        "centralus": "Central US (Iowa)",
        "westus": "West US (California)",
        "westus2": "West US 2 (Washington)",
        "westus3": "West US 3 (Arizona)",
        "canadacentral": "Canada Central (Toronto)",
        "northeurope": "North Europe (Ireland)",
        "westeurope": "West Europe (Netherlands)",
        "germanywestcentral": "Germany West Central (Frankfurt)",
        "francecentral": "France Central (Paris)",
        "swedencentral": "Sweden Central (Gävle)",
        "switzerlandnorth": "Switzerland North (Zurich)",
        "uksouth": "UK South (London)",
        "ukwest": "UK West (Cardiff)",
        "australiaeast": "Australia East (New South Wales)",
        "japaneast": "Japan East (Tokyo)",
        "southeastasia": "Southeast Asia (Singapore)",
        "centralindia": "Central India (Pune)",
    },
    "gcp": {
        "us-central1": "Iowa",
        "us-east1": "South Carolina",
        "us-east4": "Northern Virginia",
        "us-west1": "Oregon",
        "europe-west1": "Belgium",
        "europe-west2": "London",
        "europe-west3": "Frankfurt",
        "europe-west4": "Netherlands",
        "europe-north1": "Finland",
        "asia-northeast1": "Tokyo",
        "asia-southeast1": "Singapore",
        "australia-southeast1": "Sydney",
    },
}


def known_regions(provider: str) -> dict[str, str] | None:
    """The region codes of ``provider`` with their names, or ``None`` when Charter does not check them."""
    return _REGIONS.get(provider)


def region_name(provider: str, region: str) -> str:
    """Readable name of ``region``, e.g. ``us-west-2`` -> ``US West (Oregon, us-west-2)``."""
    name = _REGIONS.get(provider, {}).get(region)
    if not name:
        return region
    if name.endswith(")"):
        return f"{name[:-1]}, {region})"
    return f"{name} ({region})"
