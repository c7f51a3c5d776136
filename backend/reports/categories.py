"""The kinds of concern residents can report, from Wigan's community safety strategies
(2024-25 serious violence strategy; 2005-08 crime, disorder and drugs strategy)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.errors import field_error

DANGER_NOW = "If anyone is in danger now, call 999."
POLICE_101 = "Police (GMP, 101 non-emergency)"
CRT = "Wigan Council Community Resilience Team (anti-social behaviour)"


@dataclass(frozen=True)
class Category:
    """A category: its code (also the Open311 service_code) and how it is handled."""

    code: str
    name: str
    description: str
    team: str
    guidance: str
    anonymous_allowed: bool
    group: str
    keywords: str
    # Triage order: 3 = harm to a person likely now (weapons, exploitation, sexual violence),
    # 2 = crime or a risk to people, 1 = nuisance and environment. Higher comes first.
    severity: int = 1
    # An unacknowledged report of these kinds stands out in the portal after URGENT_AFTER_MINUTES.
    urgent: bool = False


def _g(extra: str) -> str:
    return f"{DANGER_NOW} {extra}".strip()


CATEGORIES: tuple[Category, ...] = (
    Category(
        "knife_weapon",
        "Knife or weapon",
        "Someone carrying or hiding a knife or other weapon.",
        POLICE_101,
        _g("Do not approach. To stay anonymous you can also call Crimestoppers on 0800 555 111."),
        True,
        "serious violence",
        "knife,blade,weapon,Operation Sycamore",
        severity=3,
        urgent=True,
    ),
    Category(
        "firearm",
        "Firearm",
        "A gun seen, heard or hidden.",
        POLICE_101,
        _g("If a gun has been seen or fired, call 999 now, not this form."),
        True,
        "serious violence",
        "gun,firearm,shots",
        severity=3,
        urgent=True,
    ),
    Category(
        "drug_dealing",
        "Drug dealing or county lines",
        "Dealing, drug runners, cuckooed homes or county lines activity.",
        POLICE_101,
        _g("Note times, vehicles and descriptions; do not confront anyone."),
        True,
        "organised crime",
        "drugs,dealing,county lines,cuckooing,Op Portlock",
        severity=2,
    ),
    Category(
        "asb",
        "Anti-social behaviour",
        "Nuisance, intimidation or damage affecting the neighbourhood.",
        CRT,
        _g("Neighbour noise and nuisance also go to the Community Resilience Team."),
        True,
        "anti-social behaviour",
        "asb,nuisance,intimidation,noise",
    ),
    Category(
        "youth_asb",
        "Youth anti-social behaviour",
        "Groups of young people causing harm or nuisance.",
        "Operation Bluefin (Community Safety Partnership youth ASB meeting)",
        _g("Reports feed the weekly Op Bluefin hotspot deployment."),
        True,
        "anti-social behaviour",
        "youth,young people,asb,Op Bluefin",
    ),
    Category(
        "dangerous_dog",
        "Dangerous dog",
        "A dog out of control, or one that has attacked a person or animal.",
        "Wigan Council Dog Warden (and GMP for attacks)",
        _g("If someone has been bitten, get medical help first."),
        False,  # the warden needs a witness they can contact to act under the Dangerous Dogs Act
        "serious violence",
        "dog,bite,attack,out of control",
        severity=2,
    ),
    Category(
        "sexual_harassment",
        "Sexual harassment or violence (outside the home)",
        "Harassment, spiking, indecent exposure or assault in a public place.",
        POLICE_101,
        _g(
            "Support is available from Greater Manchester's Sexual Assault Referral Centre (St Mary's)."
        ),
        True,
        "serious violence",
        "harassment,sexual violence,spiking,exposure",
        severity=3,
    ),
    Category(
        "exploitation",
        "Exploitation concern",
        "A child or adult being groomed, exploited or controlled by others.",
        "Complex Safeguarding Team (children's social care and police)",
        _g("Worried about a child? The Complex Safeguarding Team reviews every report daily."),
        True,
        "organised crime",
        "exploitation,grooming,CSE,CCE,safeguarding",
        severity=3,
        urgent=True,
    ),
    Category(
        "street_drinking",
        "Street drinking (alcohol-free zone)",
        "Drinking in a public place covered by the town centre alcohol Public Space Protection Order.",
        "Community Resilience Team and Licensing (PSPO enforcement)",
        _g("Wigan and Leigh town centres are alcohol-free zones."),
        True,
        "anti-social behaviour",
        "alcohol,drinking,PSPO",
    ),
    Category(
        "feeling_unsafe",
        "Feeling unsafe here",
        "A place that feels unsafe, for whatever reason.",
        "Community Safety Partnership",
        _g("This helps the partnership plan patrols, lighting and safe havens."),
        True,
        "feeling safe",
        "unsafe,fear,perception",
        severity=2,
    ),
    Category(
        "environment",
        "Environment (lighting, fly-tipping, graffiti)",
        "Broken street lights, fly-tipping, graffiti and other signs of neglect.",
        "Wigan Council Environment Team",
        _g("Street light faults are passed to the lighting contractor."),
        True,
        "environment",
        "lighting,street light,fly-tipping,graffiti",
    ),
    Category(
        "other",
        "Other",
        "Any other community safety concern.",
        "Community Safety Partnership",
        _g("Tell us what happened, where and when."),
        False,  # triage needs a way back to the reporter
        "other",
        "other",
    ),
)

BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}
URGENT_AFTER_MINUTES = 15


def get_category(code: str, field: str = "category") -> Category:
    """The category with ``code``; raises ValidationError naming ``field``."""
    category = BY_CODE.get(code)
    if category is None:
        raise field_error(field, f"unknown category {code[:40]!r}; see /api/v1/reports/categories")
    return category
